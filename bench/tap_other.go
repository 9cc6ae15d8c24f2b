//go:build !linux

package bench

import (
	"context"
	"errors"
)

// Tap measures hostnet against the Linux bridge between two network
// namespaces: it needs Linux.
func Tap(ctx context.Context, opts TapOptions) (*TapResult, error) {
	return nil, errors.New("the tap part needs Linux: network namespaces, veth pairs and the Linux bridge")
}
