package main

// The control socket: a Unix stream socket on which `hostnet run` answers
// the CLI. One request per connection, newline-delimited JSON:
//
//	-> {"cmd":"ifconfig","args":["bridge0","addr"]}
//	<- {"ok":true,"text":"...","json":...}
//	<- {"ok":false,"error":"..."}
//
// A streaming command (tcpdump) answers {"ok":true,"stream":"pcap"} and then
// writes a pcap stream on the same connection until the client closes it or
// the daemon stops.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// defaultSocket is where the daemon listens and the CLI connects.
const defaultSocket = "/run/hostnet.sock"

// maxRequest bounds a request line: arguments, not data.
const maxRequest = 1 << 20

// request is what the CLI sends.
type request struct {
	Cmd  string   `json:"cmd"`
	Args []string `json:"args,omitempty"`
}

// response is what the daemon answers.
type response struct {
	OK     bool            `json:"ok"`
	Error  string          `json:"error,omitempty"`
	Text   string          `json:"text,omitempty"`
	JSON   json.RawMessage `json:"json,omitempty"`
	Stream string          `json:"stream,omitempty"`
}

// handler answers one command: the text the CLI prints, and the value it
// prints as JSON under -j.
type handler func(ctx context.Context, args []string) (text string, data any, err error)

// streamHandler answers a streaming command: after the header it writes to
// w until ctx is done (the client went away or the daemon stops) or it has
// nothing more to send.
type streamHandler func(ctx context.Context, args []string, w io.Writer) error

// streamPrep checks a streaming request before the header is sent, so that
// a bad request gets an error response; it returns the function that
// streams.
type streamPrep func(ctx context.Context, args []string) (func(w io.Writer) error, error)

// server serves the control socket.
type server struct {
	log      *slog.Logger
	handlers map[string]handler
	streams  map[string]streamPrep

	wg sync.WaitGroup
}

// serve accepts connections on ln until ctx is done or ln is closed, and
// waits for the connections it has taken to finish.
func (s *server) serve(ctx context.Context, ln net.Listener) {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket: accept", "err", err)
			}
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.conn(ctx, c)
		}()
	}
	s.wg.Wait()
}

// conn answers one connection.
func (s *server) conn(ctx context.Context, c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReaderSize(io.LimitReader(c, maxRequest), 4096).ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		s.log.Debug("control socket: read request", "err", err)
		return
	}
	c.SetReadDeadline(time.Time{})
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		writeResponse(c, &response{Error: fmt.Sprintf("bad request: %v", err)})
		return
	}
	s.log.Debug("control request", "cmd", req.Cmd, "args", req.Args)
	if h, ok := s.handlers[req.Cmd]; ok {
		writeResponse(c, answer(ctx, h, req.Args))
		return
	}
	prep, ok := s.streams[req.Cmd]
	if !ok {
		writeResponse(c, &response{Error: fmt.Sprintf("unknown command %q", req.Cmd)})
		return
	}
	// The stream ends when the client closes its side: a read returns.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := prep(ctx, req.Args)
	if err != nil {
		writeResponse(c, &response{Error: err.Error()})
		return
	}
	if err := writeResponse(c, &response{OK: true, Stream: req.Cmd}); err != nil {
		return
	}
	go func() {
		io.Copy(io.Discard, c)
		cancel()
	}()
	go func() {
		<-ctx.Done()
		c.Close() // unblocks a write to a client that stopped reading
	}()
	if err := stream(c); err != nil && ctx.Err() == nil {
		s.log.Debug("control stream", "cmd", req.Cmd, "err", err)
	}
}

// answer runs h and makes its response.
func answer(ctx context.Context, h handler, args []string) *response {
	text, data, err := h(ctx, args)
	if err != nil {
		return &response{Error: err.Error()}
	}
	r := &response{OK: true, Text: text}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return &response{Error: fmt.Sprintf("encode json: %v", err)}
		}
		r.JSON = b
	}
	return r
}

func writeResponse(w io.Writer, r *response) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// listenControl makes the control socket at path, mode 0600. It refuses a
// directory that is not owned by root or by the daemon's user, or group-
// or world-writable without the sticky bit, and a path that exists and is
// not a stale socket (one no daemon answers on), which it removes.
func listenControl(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if st.Uid != 0 && int(st.Uid) != os.Getuid() {
			return nil, fmt.Errorf("control socket %s: directory %s is owned by uid %d, not root or uid %d: refusing", path, dir, st.Uid, os.Getuid())
		}
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return nil, fmt.Errorf("control socket %s: directory %s is writable by others (mode %v): refusing", path, dir, fi.Mode().Perm())
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket: refusing to replace it", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another hostnet is listening there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: remove stale socket: %w", path, err)
		}
	}
	// The umask makes the socket 0600 from its creation: no window in
	// which another user could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}

// checkSocket refuses a control socket that is not a socket, is not owned
// by root or the caller, or is open to others: the CLI trusts what the
// daemon says, so it talks to no one else.
func checkSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s is not a socket", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s is owned by uid %d, not root: refusing", path, st.Uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %v, want 0600: refusing", path, fi.Mode().Perm())
	}
	return nil
}

// unreachable is the error of a CLI command when no daemon answers.
func unreachable(path string, err error) error {
	return fmt.Errorf("cannot reach hostnet at %s: is `hostnet run` running? (%v)", path, err)
}

// dial connects to the daemon and sends req.
func dial(path string, req request) (net.Conn, *bufio.Reader, error) {
	if err := checkSocket(path); err != nil {
		return nil, nil, unreachable(path, err)
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, nil, unreachable(path, err)
	}
	b, err := json.Marshal(req)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(append(b, '\n')); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("hostnet at %s: send request: %w", path, err)
	}
	c.SetWriteDeadline(time.Time{})
	return c, bufio.NewReader(c), nil
}

// readResponse reads the response line.
func readResponse(path string, r *bufio.Reader) (*response, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("hostnet at %s: read response: %w", path, err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("hostnet at %s: bad response: %w", path, err)
	}
	return &resp, nil
}

// call sends req to the daemon at path and returns its response.
func call(path string, req request) (*response, error) {
	c, r, err := dial(path, req)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	return readResponse(path, r)
}

// clientFlags are the flags every CLI command that talks to the daemon
// has.
type clientFlags struct {
	socket *string
	json   *bool
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		socket: fs.String("socket", defaultSocket, "the control socket `PATH` of the daemon (hostnet run)"),
		json:   fs.Bool("j", false, "print JSON"),
	}
}

// remote sends `hostnet CMD ARGS` to the daemon and prints the answer:
// the text, or the JSON under -j. It returns the exit status.
func remote(cmd string, cf clientFlags, args []string, stdout, stderr io.Writer) int {
	resp, err := call(*cf.socket, request{Cmd: cmd, Args: args})
	if err != nil {
		fmt.Fprintf(stderr, "hostnet %s: %v\n", cmd, err)
		return 1
	}
	if !resp.OK {
		fmt.Fprintf(stderr, "hostnet %s: %s\n", cmd, resp.Error)
		return 1
	}
	if *cf.json {
		var buf bytes.Buffer
		if len(resp.JSON) == 0 {
			resp.JSON = json.RawMessage("null")
		}
		if err := json.Indent(&buf, resp.JSON, "", "  "); err != nil {
			fmt.Fprintf(stderr, "hostnet %s: %v\n", cmd, err)
			return 1
		}
		buf.WriteByte('\n')
		stdout.Write(buf.Bytes())
		return 0
	}
	io.WriteString(stdout, resp.Text)
	return 0
}

// serverFlags parses args for the daemon's side of a command: the same
// flags as the CLI's (define adds them), errors returned rather than
// printed.
func serverFlags(name string, args []string, define func(fs *flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var msg bytes.Buffer
	fs.SetOutput(&msg)
	define(fs)
	addClientFlags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	// The positional arguments, wherever they were, become fs.Args().
	fs.Parse(append([]string{"--"}, pos...))
	return fs, nil
}

// parseInterleaved parses args with fs, taking flags after positional
// arguments too (`ifconfig bridge0 addr -v`), as the BSD tools do. It
// returns the positional arguments in order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		// After "--" everything is positional.
		dashes := len(rest) < len(args) && args[len(args)-len(rest)-1] == "--"
		if dashes || len(rest) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseFlagsInterleaved is parseFlags with parseInterleaved: it returns
// the positional arguments, or done with the exit status.
func parseFlagsInterleaved(fs *flag.FlagSet, args []string, stdout io.Writer) (pos []string, code int, done bool) {
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return nil, 0, true
	}
	if err != nil {
		return nil, 2, true
	}
	return pos, 0, false
}
