package header

import "testing"

func TestDot1Q(t *testing.T) {
	tests := []struct {
		name string
		tag  string
		tpid uint16
		pcp  uint8
		dei  bool
		vid  VID
	}{
		{"ctag-vid10", "8100000a", EtherTypeDot1Q, 0, false, 10},
		{"stag-pcp7-dei", "88a8f0c8", EtherTypeDot1AD, 7, true, 200},
		{"priority-tag", "8100a000", EtherTypeDot1Q, 5, false, VIDNone},
		{"vid4095", "81000fff", EtherTypeDot1Q, 0, false, 4095},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Dot1Q(hexBytes(tc.tag))
			if h.TPID() != tc.tpid || h.PCP() != tc.pcp || h.DEI() != tc.dei || h.VID() != tc.vid {
				t.Errorf("Dot1Q(%s) = tpid %#04x pcp %d dei %v vid %d, want %#04x %d %v %d",
					tc.tag, h.TPID(), h.PCP(), h.DEI(), h.VID(), tc.tpid, tc.pcp, tc.dei, tc.vid)
			}
			if got := MakeTCI(tc.pcp, tc.dei, tc.vid); got != h.TCI() {
				t.Errorf("MakeTCI(%d, %v, %d) = %#04x, want %#04x", tc.pcp, tc.dei, tc.vid, got, h.TCI())
			}
			// Setters rebuild the same tag from zero.
			g := make(Dot1Q, Dot1QSize)
			g.SetTPID(tc.tpid)
			g.SetVID(tc.vid)
			g.SetPCP(tc.pcp)
			g.SetDEI(tc.dei)
			if string(g) != string(h) {
				t.Errorf("setters(%#04x, %d, %v, %d) = %x, want %s", tc.tpid, tc.pcp, tc.dei, tc.vid, []byte(g), tc.tag)
			}
			g.SetDEI(!tc.dei)
			g.SetDEI(tc.dei)
			g.SetTCI(0)
			g.SetTCI(h.TCI())
			if string(g) != string(h) {
				t.Errorf("SetTCI round trip = %x, want %s", []byte(g), tc.tag)
			}
		})
	}
}

func TestVIDIsValid(t *testing.T) {
	for _, tc := range []struct {
		v    VID
		want bool
	}{{0, false}, {1, true}, {4094, true}, {4095, false}, {5000, false}} {
		if got := tc.v.IsValid(); got != tc.want {
			t.Errorf("VID(%d).IsValid() = %v, want %v", tc.v, got, tc.want)
		}
	}
}
