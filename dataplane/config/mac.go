package config

import (
	"fmt"
	"strconv"
	"strings"
)

// MAC is a 48-bit IEEE 802 address. It is comparable and usable as a map key.
type MAC [6]byte

// String returns m as six lower-case hex pairs separated by colons.
func (m MAC) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// IsMulticast reports whether m is a group address (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

// ParseMAC parses six colon-separated groups of one or two hex digits, as
// ether_aton(3) does: "fe:e1:ba:d0:0:1" and "FE:E1:BA:D0:00:01" are equal.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return m, fmt.Errorf("invalid MAC address %q; want six hex pairs like fe:e1:ba:d0:00:01", s)
	}
	for i, p := range parts {
		if len(p) < 1 || len(p) > 2 {
			return m, fmt.Errorf("invalid MAC address %q; want six hex pairs like fe:e1:ba:d0:00:01", s)
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return m, fmt.Errorf("invalid MAC address %q; want six hex pairs like fe:e1:ba:d0:00:01", s)
		}
		m[i] = byte(v)
	}
	return m, nil
}

// MarshalText implements encoding.TextMarshaler: the String form.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseMAC.
func (m *MAC) UnmarshalText(b []byte) error {
	v, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
