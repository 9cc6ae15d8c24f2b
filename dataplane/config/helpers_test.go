package config

import (
	"net/netip"
	"reflect"
	"testing"
)

// stripPos zeroes every File, Line and Col field reachable from v (a
// pointer), so results parsed from different files compare equal.
func stripPos(v any) {
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < v.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				switch f.Name {
				case "File", "Line", "Col":
					v.Field(i).SetZero()
				default:
					walk(v.Field(i))
				}
			}
		}
	}
	walk(reflect.ValueOf(v))
}

func mustMAC(t testing.TB, s string) *MAC {
	t.Helper()
	m, err := ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }
