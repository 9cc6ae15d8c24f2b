package dataplane

// MemberOf returns the name of the bridge ifc is a member of, "" if it is
// in none (span ports are not members).
func (ifc *Interface) MemberOf() string {
	if ifc.bridge == nil {
		return ""
	}
	return ifc.bridge.ifc.Name
}

// IsStack reports whether the host's IP stack owns ifc: a vether, or an
// interface with an address.
func (ifc *Interface) IsStack() bool { return ifc.stack }
