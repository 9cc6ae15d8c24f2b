package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// shortDir returns a temporary directory with a path short enough for a
// Unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "hn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// startServer serves handlers on a socket in a temporary directory.
func startServer(t *testing.T, handlers map[string]handler, streams map[string]streamPrep) string {
	t.Helper()
	checkLeaks(t)
	sock := filepath.Join(shortDir(t), "s")
	ln, err := listenControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server{log: testLogger(t), handlers: handlers, streams: streams}
	done := make(chan struct{})
	go func() {
		srv.serve(ctx, ln)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("server did not stop within 10s")
		}
	})
	return sock
}

func TestProtocol(t *testing.T) {
	sock := startServer(t, map[string]handler{
		"echo": func(ctx context.Context, args []string) (string, any, error) {
			return strings.Join(args, " ") + "\n", map[string]any{"args": args}, nil
		},
		"fail": func(ctx context.Context, args []string) (string, any, error) {
			return "", nil, errors.New("it failed")
		},
	}, map[string]streamPrep{
		"count": func(ctx context.Context, args []string) (func(io.Writer) error, error) {
			if len(args) == 0 {
				return nil, errors.New("count: want N")
			}
			return func(w io.Writer) error {
				for i := range 3 {
					if _, err := fmt.Fprintf(w, "%d\n", i); err != nil {
						return err
					}
				}
				return nil
			}, nil
		},
	})

	tests := []struct {
		name    string
		req     request
		ok      bool
		text    string
		json    string
		errPart string
	}{
		{name: "echo", req: request{Cmd: "echo", Args: []string{"a", "b"}}, ok: true, text: "a b\n", json: `{"args":["a","b"]}`},
		{name: "handler error", req: request{Cmd: "fail"}, errPart: "it failed"},
		{name: "unknown command", req: request{Cmd: "nope"}, errPart: `unknown command "nope"`},
		{name: "stream refused", req: request{Cmd: "count"}, errPart: "count: want N"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := call(sock, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.OK != tc.ok || resp.Text != tc.text || string(resp.JSON) != tc.json || !strings.Contains(resp.Error, tc.errPart) {
				t.Errorf("call(%+v) = %+v, want ok %v text %q json %s error containing %q", tc.req, resp, tc.ok, tc.text, tc.json, tc.errPart)
			}
		})
	}

	t.Run("stream", func(t *testing.T) {
		c, r, err := dial(sock, request{Cmd: "count", Args: []string{"3"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		resp, err := readResponse(sock, r)
		if err != nil || !resp.OK || resp.Stream != "count" {
			t.Fatalf("stream header = %+v, %v", resp, err)
		}
		rest, err := io.ReadAll(r)
		if err != nil || string(rest) != "0\n1\n2\n" {
			t.Errorf("stream body = %q, %v; want 0 1 2", rest, err)
		}
	})

	t.Run("bad request", func(t *testing.T) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "{not json\n")
		resp, err := readResponse(sock, bufio.NewReader(c))
		if err != nil || resp.OK || !strings.Contains(resp.Error, "bad request") {
			t.Errorf("bad request: %+v, %v", resp, err)
		}
	})

	t.Run("remote -j", func(t *testing.T) {
		var out, errb strings.Builder
		j := true
		code := remote("echo", clientFlags{socket: &sock, json: &j}, []string{"x"}, &out, &errb)
		var v map[string][]string
		if code != 0 || json.Unmarshal([]byte(out.String()), &v) != nil || !slices.Equal(v["args"], []string{"x"}) {
			t.Errorf("remote -j: exit %d, out %q, err %q", code, out.String(), errb.String())
		}
	})
}

func TestUnreachable(t *testing.T) {
	sock := filepath.Join(shortDir(t), "none")
	for _, cmd := range [][]string{
		{"status"}, {"ifconfig"}, {"ifconfig", "bridge0", "addr"}, {"netstat", "-rn"}, {"arp", "-an"}, {"ndp", "-an"},
		{"reload"}, {"tcpdump", "-i", "tap0"},
	} {
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			code, _, errs := runCmd(t, append(cmd, "-socket", sock)...)
			want := "cannot reach hostnet at " + sock + ": is `hostnet run` running?"
			if code != 1 || !strings.Contains(errs, want) {
				t.Errorf("hostnet %v with no daemon: exit %d, stderr %q; want 1 and %q", cmd, code, errs, want)
			}
		})
	}
	var out, errb strings.Builder
	if code := pfctlLive(sock, []string{"-sr"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "cannot reach hostnet") {
		t.Errorf("pfctlLive with no daemon: exit %d, stderr %q", code, errb.String())
	}
}

func TestListenControl(t *testing.T) {
	t.Run("mode 0600, removed on close", func(t *testing.T) {
		sock := filepath.Join(shortDir(t), "s")
		ln, err := listenControl(sock)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(sock)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("socket mode = %v (%v), want 0600", fi.Mode().Perm(), err)
		}
		if err := checkSocket(sock); err != nil {
			t.Errorf("checkSocket of our own socket: %v", err)
		}
		ln.Close()
		if fileExists(sock) {
			t.Errorf("socket left after close")
		}
	})
	t.Run("live socket refused", func(t *testing.T) {
		sock := filepath.Join(shortDir(t), "s")
		ln, err := listenControl(sock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		if ln2, err := listenControl(sock); err == nil || !strings.Contains(err.Error(), "another hostnet") {
			if ln2 != nil {
				ln2.Close()
			}
			t.Errorf("second listen: %v, want refused", err)
		}
	})
	t.Run("stale socket replaced", func(t *testing.T) {
		sock := filepath.Join(shortDir(t), "s")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
		if !fileExists(sock) {
			t.Fatalf("stale socket not left behind")
		}
		ln2, err := listenControl(sock)
		if err != nil {
			t.Fatalf("listen over a stale socket: %v", err)
		}
		ln2.Close()
	})
	t.Run("not a socket refused", func(t *testing.T) {
		sock := filepath.Join(shortDir(t), "s")
		os.WriteFile(sock, []byte("x"), 0o600)
		if ln, err := listenControl(sock); err == nil || !strings.Contains(err.Error(), "not a socket") {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("listen over a file: %v, want refused", err)
		}
		if b, _ := os.ReadFile(sock); string(b) != "x" {
			t.Errorf("the file was touched")
		}
	})
	t.Run("open directory refused", func(t *testing.T) {
		dir := shortDir(t)
		os.Chmod(dir, 0o777)
		if ln, err := listenControl(filepath.Join(dir, "s")); err == nil || !strings.Contains(err.Error(), "writable by others") {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("listen in a world-writable directory: %v, want refused", err)
		}
	})
	t.Run("open socket refused by the client", func(t *testing.T) {
		sock := filepath.Join(shortDir(t), "s")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		os.Chmod(sock, 0o666)
		if err := checkSocket(sock); err == nil || !strings.Contains(err.Error(), "want 0600") {
			t.Errorf("checkSocket of a 0666 socket: %v, want refused", err)
		}
	})
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name string
		args []string
		pos  []string
		v    bool
	}{
		{"flags first", []string{"-v", "bridge0", "addr"}, []string{"bridge0", "addr"}, true},
		{"flags last", []string{"bridge0", "addr", "-v"}, []string{"bridge0", "addr"}, true},
		{"flags between", []string{"bridge0", "-v", "addr"}, []string{"bridge0", "addr"}, true},
		{"none", nil, nil, false},
		{"after --", []string{"--", "-v"}, []string{"-v"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			v := fs.Bool("v", false, "")
			pos, err := parseInterleaved(fs, tc.args)
			if err != nil || !slices.Equal(pos, tc.pos) || *v != tc.v {
				t.Errorf("parseInterleaved(%q) = %q, -v %v, %v; want %q, -v %v", tc.args, pos, *v, err, tc.pos, tc.v)
			}
		})
	}
}

func TestExpandShortFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"rn", []string{"-rn"}, []string{"-r", "-n"}},
		{"an with j", []string{"-anj"}, []string{"-a", "-n", "-j"}},
		{"value flag left alone", []string{"-socket", "/x"}, []string{"-socket", "/x"}},
		{"single", []string{"-r"}, []string{"-r"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := expandShortFlags(tc.args, "rnaj"); !slices.Equal(got, tc.want) {
				t.Errorf("expandShortFlags(%q) = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}
