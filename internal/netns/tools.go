package netns

// Packages maps each command that the users of namespaces run (the
// end-to-end tests, hostnet bench, hostnet demo) to the Debian package
// that has it.
var Packages = map[string]string{
	"ip":      "iproute2",
	"ss":      "iproute2",
	"ping":    "iputils-ping",
	"dnsmasq": "dnsmasq-base",
	"busybox": "busybox",
	"iperf3":  "iperf3",
	"curl":    "curl",
	"nc":      "netcat-openbsd",
	"python3": "python3",
}

// Missing returns the commands of cmds that lookPath (exec.LookPath) does
// not find, and the Debian packages that have them, each once, in order.
func Missing(lookPath func(string) (string, error), cmds ...string) (missing, pkgs []string) {
	seen := map[string]bool{}
	for _, c := range cmds {
		if _, err := lookPath(c); err != nil {
			missing = append(missing, c)
			if p := Packages[c]; p != "" && !seen[p] {
				seen[p] = true
				pkgs = append(pkgs, p)
			}
		}
	}
	return missing, pkgs
}
