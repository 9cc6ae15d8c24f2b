package bench

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPingTimes(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []float64
		wantErr bool
	}{
		{"replies", "PING 198.18.0.2 (198.18.0.2) 56(84) bytes of data.\n" +
			"64 bytes from 198.18.0.2: icmp_seq=1 ttl=64 time=0.045 ms\n" +
			"64 bytes from 198.18.0.2: icmp_seq=2 ttl=64 time=1.5 ms\n" +
			"\n--- 198.18.0.2 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 10ms\n" +
			"rtt min/avg/max/mdev = 0.045/0.772/1.500/0.727 ms\n", []float64{45, 1500}, false},
		{"no reply", "PING 198.18.0.2 (198.18.0.2) 56(84) bytes of data.\n\n--- 198.18.0.2 ping statistics ---\n" +
			"3 packets transmitted, 0 received, 100% packet loss, time 2040ms\n", nil, true},
		{"nothing", "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PingTimes(tc.out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("PingTimes(%q) error = %v, want error %v", tc.out, err, tc.wantErr)
			}
			for i := range got {
				got[i] = float64(int(got[i]*1000+0.5)) / 1000 // 0.045 ms is 45.000000000000004 us
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("PingTimes(%q) = %v, want %v", tc.out, got, tc.want)
			}
		})
	}
}

func TestRTTStats(t *testing.T) {
	tests := []struct {
		name          string
		rtts          []float64
		avg, p50, p99 float64
	}{
		{"none", nil, 0, 0, 0},
		{"one", []float64{40}, 40, 40, 40},
		{"unsorted", []float64{30, 10, 20}, 20, 20, 30},
		{"one outlier in a hundred", append(slices.Repeat([]float64{50}, 99), 5050), 100, 50, 50},
		{"two outliers in a hundred", append(slices.Repeat([]float64{50}, 98), 1050, 2050), 80, 50, 1050},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			avg, p50, p99 := rttStats(slices.Clone(tc.rtts))
			if avg != tc.avg || p50 != tc.p50 || p99 != tc.p99 {
				t.Errorf("rttStats(%v) = %v, %v, %v, want %v, %v, %v", tc.rtts, avg, p50, p99, tc.avg, tc.p50, tc.p99)
			}
		})
	}
}

func TestMissingTools(t *testing.T) {
	tests := []struct {
		name           string
		have           []string
		wantCmds, pkgs string
	}{
		{"all there", []string{"ip", "ss", "iperf3", "ping"}, "", ""},
		{"no iperf3", []string{"ip", "ss", "ping"}, "iperf3", "iperf3"},
		{"none", nil, "ip ss iperf3 ping", "iproute2 iperf3 iputils-ping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			look := func(c string) (string, error) {
				if slices.Contains(tc.have, c) {
					return "/usr/bin/" + c, nil
				}
				return "", errors.New("not found")
			}
			cmds, pkgs := MissingTools(look)
			if got := strings.Join(cmds, " "); got != tc.wantCmds {
				t.Errorf("MissingTools(%v) commands = %q, want %q", tc.have, got, tc.wantCmds)
			}
			if got := strings.Join(pkgs, " "); got != tc.pkgs {
				t.Errorf("MissingTools(%v) packages = %q, want %q", tc.have, got, tc.pkgs)
			}
		})
	}
}
