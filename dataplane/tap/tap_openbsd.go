package tap

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"
)

// Tap is an OpenBSD tap(4) device, /dev/tapN, opened as a file: one frame
// per read(2), no virtio-net header, no offloads, one queue.
type Tap struct {
	name    string
	existed bool
	queues  []*Queue
}

// Open opens /dev/NAME (tapN), creating the interface if needed, sets its
// MTU when opts.MTU is not 0 and brings it up with ifconfig(8). An empty
// name takes the lowest-numbered tap device that is free. Options.Persist,
// Queues above 1 and the virtio-net header do not apply on OpenBSD: a tap
// interface outlives its file, and frames are plain.
func Open(name string, opts Options) (*Tap, error) {
	if opts.Queues > 1 {
		return nil, fmt.Errorf("tap %s: multiple queues are not supported on OpenBSD", name)
	}
	var fd int
	var err error
	var existed bool
	if name == "" {
		for i := range 256 {
			n := "tap" + strconv.Itoa(i)
			existed = linkExists(n)
			if fd, err = unix.Open("/dev/"+n, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
				name = n
				break
			}
			if err != unix.EBUSY {
				return nil, fmt.Errorf("tap %s: open /dev/%s: %w", n, n, err)
			}
		}
		if name == "" {
			return nil, errors.New("tap: no free tap device")
		}
	} else {
		existed = linkExists(name)
		fd, err = unix.Open("/dev/"+name, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("tap %s: open /dev/%s: %w", name, name, err)
		}
	}
	t := &Tap{name: name, existed: existed}
	q, err := newQueue(name, fd, false)
	if err != nil {
		return nil, err
	}
	t.queues = []*Queue{q}
	args := []string{name}
	if opts.MTU != 0 {
		args = append(args, "mtu", strconv.Itoa(opts.MTU))
	}
	args = append(args, "up")
	if out, err := exec.Command("ifconfig", args...).CombinedOutput(); err != nil {
		t.Close()
		return nil, fmt.Errorf("tap %s: ifconfig: %v: %s", name, err, out)
	}
	return t, nil
}

// linkExists reports whether a network interface of that name exists.
func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// A destroyed tap(4) answers with ENXIO.
func isDeleted(err error) bool { return err == unix.ENXIO }

// Name returns the device's name.
func (t *Tap) Name() string { return t.name }

// Existed reports whether the interface existed before Open (opening
// /dev/tapN creates it otherwise).
func (t *Tap) Existed() bool { return t.existed }

// Persistent reports whether the device outlives Close: on OpenBSD a
// tap interface stays until destroyed with ifconfig.
func (t *Tap) Persistent() bool { return true }

// VnetHdr reports whether frames carry offload state: never on OpenBSD.
func (t *Tap) VnetHdr() bool { return false }

// Offloads returns the offloads the kernel accepted: none on OpenBSD.
func (t *Tap) Offloads() Offload { return 0 }

// Remove closes the device and destroys the interface with ifconfig(8).
func (t *Tap) Remove() error {
	err := t.Close()
	if out, xerr := exec.Command("ifconfig", t.name, "destroy").CombinedOutput(); xerr != nil {
		return errors.Join(err, fmt.Errorf("tap %s: ifconfig destroy: %v: %s", t.name, xerr, out))
	}
	return err
}

// Create makes the tap interface name with ifconfig(8), sets its MTU when
// opts.MTU is not 0 and brings it up, for a hypervisor (vmd) to open
// /dev/NAME. An empty name is refused: vmd picks its own. It reports
// whether the interface existed before.
func Create(name string, opts Options) (string, bool, error) {
	if name == "" {
		return "", false, errors.New("tap: Create needs a name on OpenBSD")
	}
	existed := linkExists(name)
	args := []string{name}
	if !existed {
		args = append(args, "create")
	}
	if opts.MTU != 0 {
		args = append(args, "mtu", strconv.Itoa(opts.MTU))
	}
	args = append(args, "up")
	if out, err := exec.Command("ifconfig", args...).CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("tap %s: ifconfig: %v: %s", name, err, out)
	}
	return name, existed, nil
}

// Delete destroys the tap interface name with ifconfig(8).
func Delete(name string) error {
	if out, err := exec.Command("ifconfig", name, "destroy").CombinedOutput(); err != nil {
		return fmt.Errorf("tap %s: ifconfig destroy: %v: %s", name, err, out)
	}
	return nil
}
