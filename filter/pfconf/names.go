package pfconf

// The tables pfctl reads from /etc/protocols, /etc/services and its own
// ICMP tables, bundled so that a Spec does not depend on the machine.

type protoEnt struct {
	name string
	num  uint8
}

// protocols is OpenBSD's /etc/protocols: the first name of a number is
// the one printed; aliases follow.
var protocols = []protoEnt{
	{"ip", 0}, {"hopopt", 0}, {"icmp", 1}, {"igmp", 2}, {"ggp", 3},
	{"ipencap", 4}, {"st", 5}, {"tcp", 6}, {"egp", 8}, {"igp", 9},
	{"pup", 12}, {"udp", 17}, {"hmp", 20}, {"xns-idp", 22}, {"rdp", 27},
	{"iso-tp4", 29}, {"dccp", 33}, {"xtp", 36}, {"ddp", 37},
	{"idpr-cmtp", 38}, {"ipv6", 41}, {"ipv6-route", 43},
	{"ipv6-frag", 44}, {"idrp", 45}, {"rsvp", 46}, {"gre", 47},
	{"esp", 50}, {"ah", 51}, {"mobile", 55}, {"skip", 57},
	{"ipv6-icmp", 58}, {"icmp6", 58}, {"ipv6-nonxt", 59},
	{"ipv6-opts", 60}, {"rspf", 73}, {"vmtp", 81}, {"eigrp", 88},
	{"ospf", 89}, {"ax.25", 93}, {"ipip", 94}, {"etherip", 97},
	{"encap", 98}, {"pim", 103}, {"ipcomp", 108}, {"carp", 112},
	{"vrrp", 112}, {"l2tp", 115}, {"isis", 124}, {"sctp", 132},
	{"fc", 133}, {"mobility-header", 135}, {"udplite", 136},
	{"mpls-in-ip", 137}, {"hip", 139}, {"shim6", 140}, {"wesp", 141},
	{"rohc", 142}, {"pfsync", 240},
}

func protoByName(name string) (uint8, bool) {
	for _, p := range protocols {
		if p.name == name {
			return p.num, true
		}
	}
	return 0, false
}

// protoName returns the printed name of a protocol number, or "".
func protoName(num uint8) string {
	for _, p := range protocols {
		if p.num == num {
			return p.name
		}
	}
	return ""
}

const (
	protoICMP  = 1
	protoTCP   = 6
	protoUDP   = 17
	protoICMP6 = 58
)

// services is the part of OpenBSD's /etc/services that names ports:
// pfctl looks a name up as tcp, then as udp, and prints the number.
var services = map[string]uint16{
	"tcpmux": 1, "echo": 7, "discard": 9, "sink": 9, "null": 9,
	"systat": 11, "users": 11, "daytime": 13, "netstat": 15,
	"qotd": 17, "quote": 17, "chargen": 19, "ttytst": 19, "source": 19,
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25,
	"mail": 25, "time": 37, "timserver": 37, "rlp": 39, "resource": 39,
	"nameserver": 42, "name": 42, "whois": 43, "nicname": 43,
	"domain": 53, "mtp": 57, "bootps": 67, "bootpc": 68, "tftp": 69,
	"gopher": 70, "rje": 77, "netrjs": 77, "finger": 79, "www": 80,
	"http": 80, "link": 87, "ttylink": 87, "kerberos": 88, "krb5": 88,
	"supdup": 95, "hostnames": 101, "hostname": 101, "iso-tsap": 102,
	"tsap": 102, "x400": 103, "x400-snd": 104, "csnet-ns": 105,
	"pop2": 109, "postoffice": 109, "pop3": 110, "pop-3": 110,
	"sunrpc": 111, "rpcbind": 111, "auth": 113, "authentication": 113,
	"tap": 113, "ident": 113, "sftp": 115, "uucp-path": 117,
	"nntp": 119, "readnews": 119, "untp": 119, "ntp": 123,
	"netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139,
	"imap": 143, "imap2": 143, "snmp": 161, "snmp-trap": 162,
	"snmptrap": 162, "xdmcp": 177, "bgp": 179, "irc": 194,
	"smux": 199, "at-rtmp": 201, "at-nbp": 202, "at-echo": 204,
	"at-zis": 206, "qmtp": 209, "z3950": 210, "wais": 210, "ipx": 213,
	"imap3": 220, "rpc2portmap": 369, "codaauth2": 370, "ulistserv": 372,
	"ldap": 389, "https": 443, "snpp": 444, "microsoft-ds": 445,
	"kpasswd": 464, "photuris": 468, "submissions": 465, "smtps": 465,
	"isakmp": 500, "exec": 512, "biff": 512, "comsat": 512,
	"login": 513, "who": 513, "whod": 513, "shell": 514, "cmd": 514,
	"syslog": 514, "printer": 515, "spooler": 515, "talk": 517,
	"ntalk": 518, "route": 520, "router": 520, "routed": 520,
	"ripng": 521, "timed": 525, "timeserver": 525, "tempo": 526,
	"newdate": 526, "courier": 530, "rpc": 530, "conference": 531,
	"chat": 531, "netnews": 532, "netwall": 533, "uucp": 540,
	"uucpd": 540, "klogin": 543, "kshell": 544, "krcmd": 544,
	"dhcpv6-client": 546, "dhcpv6-server": 547, "afpovertcp": 548,
	"rtsp": 554, "remotefs": 556, "rfs_server": 556, "rfs": 556,
	"submission": 587, "ipp": 631, "ldaps": 636, "silc": 706,
	"kerberos-adm": 749, "kerberos_master": 751, "passwd_server": 752,
	"krb_prop": 754, "krb5_prop": 754, "hprop": 754, "krbupdate": 760,
	"kreg": 760, "kpwd": 761, "rsync": 873, "ftps-data": 989,
	"ftps": 990, "telnets": 992, "imaps": 993, "pop3s": 995,
	"socks": 1080, "kpop": 1109, "ms-sql-s": 1433, "ms-sql-m": 1434,
	"pptp": 1723, "radius": 1812, "radacct": 1813, "nfsd": 2049,
	"nfs": 2049, "cvspserver": 2401, "hpovw": 2565, "mysql": 3306,
	"rdp": 3389, "svn": 3690, "sieve": 4190, "krb524": 4444,
	"ipsec-nat-t": 4500, "sip": 5060, "sip-tls": 5061,
	"xmpp-client": 5222, "xmpp-server": 5269, "postgresql": 5432,
	"mdns": 5353, "x11": 6000, "irc-serv": 6667, "http-alt": 8080,
	"spamd": 8025, "spamd-cfg": 8026, "spamd-sync": 8025, "tor": 9050,
	"git": 9418, "domain-s": 853, "openvpn": 1194, "l2tp": 1701,
	"dhcp-failover": 647, "wireguard": 51820,
}

type icmpTypeEnt struct {
	name string
	num  uint8
}

var icmpTypes = []icmpTypeEnt{
	{"echoreq", 8}, {"echorep", 0}, {"unreach", 3}, {"squench", 4},
	{"redir", 5}, {"althost", 6}, {"routeradv", 9}, {"routersol", 10},
	{"timex", 11}, {"paramprob", 12}, {"timereq", 13}, {"timerep", 14},
	{"inforeq", 15}, {"inforep", 16}, {"maskreq", 17}, {"maskrep", 18},
	{"trace", 30}, {"dataconv", 31}, {"mobredir", 32},
	{"ipv6-where", 33}, {"ipv6-here", 34}, {"mobregreq", 35},
	{"mobregrep", 36}, {"skip", 39}, {"photuris", 40},
}

var icmp6Types = []icmpTypeEnt{
	{"unreach", 1}, {"toobig", 2}, {"timex", 3}, {"paramprob", 4},
	{"echoreq", 128}, {"echorep", 129}, {"groupqry", 130},
	{"listqry", 130}, {"grouprep", 131}, {"listenrep", 131},
	{"groupterm", 132}, {"listendone", 132}, {"routersol", 133},
	{"routeradv", 134}, {"neighbrsol", 135}, {"neighbradv", 136},
	{"redir", 137}, {"routrrenum", 138}, {"wrureq", 139},
	{"wrurep", 140}, {"fqdnreq", 139}, {"fqdnrep", 140}, {"niqry", 139},
	{"nirep", 140}, {"mtraceresp", 200}, {"mtrace", 201},
	{"listenrepv2", 143},
}

type icmpCodeEnt struct {
	name      string
	typ, code uint8
}

var icmpCodes = []icmpCodeEnt{
	{"net-unr", 3, 0}, {"host-unr", 3, 1}, {"proto-unr", 3, 2},
	{"port-unr", 3, 3}, {"needfrag", 3, 4}, {"srcfail", 3, 5},
	{"net-unk", 3, 6}, {"host-unk", 3, 7}, {"isolate", 3, 8},
	{"net-prohib", 3, 9}, {"host-prohib", 3, 10}, {"net-tos", 3, 11},
	{"host-tos", 3, 12}, {"filter-prohib", 3, 13},
	{"host-preced", 3, 14}, {"cutoff-preced", 3, 15},
	{"redir-net", 5, 0}, {"redir-host", 5, 1}, {"redir-tos-net", 5, 2},
	{"redir-tos-host", 5, 3}, {"normal-adv", 9, 0},
	{"common-adv", 9, 16}, {"transit", 11, 0}, {"reassemb", 11, 1},
	{"badhead", 12, 0}, {"optmiss", 12, 1}, {"badlen", 12, 2},
	{"unknown-ind", 40, 1}, {"auth-fail", 40, 2},
	{"decrypt-fail", 40, 3},
}

var icmp6Codes = []icmpCodeEnt{
	{"admin-unr", 1, 1}, {"noroute-unr", 1, 0}, {"beyond-unr", 1, 2},
	{"addr-unr", 1, 3}, {"port-unr", 1, 4}, {"transit", 3, 0},
	{"reassemb", 3, 1}, {"badhead", 4, 0}, {"nxthdr", 4, 1},
	{"redironlink", 137, 0}, {"redirrouter", 137, 1},
}

func icmpTypeTable(af AF) []icmpTypeEnt {
	if af == Inet6 {
		return icmp6Types
	}
	return icmpTypes
}

func icmpCodeTable(af AF) []icmpCodeEnt {
	if af == Inet6 {
		return icmp6Codes
	}
	return icmpCodes
}

func icmpTypeByName(name string, af AF) (uint8, bool) {
	for _, e := range icmpTypeTable(af) {
		if e.name == name {
			return e.num, true
		}
	}
	return 0, false
}

func icmpTypeName(num uint8, af AF) string {
	for _, e := range icmpTypeTable(af) {
		if e.num == num {
			return e.name
		}
	}
	return ""
}

func icmpCodeByName(name string, af AF) (typ, code uint8, ok bool) {
	for _, e := range icmpCodeTable(af) {
		if e.name == name {
			return e.typ, e.code, true
		}
	}
	return 0, 0, false
}

func icmpCodeName(typ, code uint8, af AF) string {
	for _, e := range icmpCodeTable(af) {
		if e.typ == typ && e.code == code {
			return e.name
		}
	}
	return ""
}
