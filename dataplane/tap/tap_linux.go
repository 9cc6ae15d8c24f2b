package tap

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Tap is a TAP device with one or more queues. Its own ReadBatch and
// WriteBatch use queue 0, so a single-queue Tap is a packet.Port; with
// several queues, give each Queue(i) its own reader.
type Tap struct {
	name     string
	existed  bool
	persist  bool
	vnet     bool
	offloads Offload
	queues   []*Queue
}

// Open creates the TAP device name, or attaches to it if it exists (a
// persistent tap, or another queue of a multi-queue one), and sets it up
// with opts. An empty name lets the kernel pick the lowest free tapN. It
// fails, naming the device, if /dev/net/tun cannot be opened (no module,
// no CAP_NET_ADMIN), the name is taken by a device that is not a free tap,
// or a setting is refused.
func Open(name string, opts Options) (*Tap, error) {
	if name == "" {
		name = "tap%d"
	}
	if len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap %s: name longer than %d bytes", name, unix.IFNAMSIZ-1)
	}
	t := &Tap{name: name, vnet: !opts.NoVnetHdr}
	t.existed = linkExists(name)
	nq := max(opts.Queues, 1)
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if t.vnet {
		flags |= unix.IFF_VNET_HDR
	}
	if opts.Queues > 1 {
		flags |= unix.IFF_MULTI_QUEUE
	}
	for i := range nq {
		fd, err := t.attach(flags)
		if err != nil {
			t.Close()
			return nil, err
		}
		if i == 0 {
			if err := t.setup(fd, opts); err != nil {
				unix.Close(fd)
				t.Close()
				return nil, err
			}
		}
		q, err := newQueue(t.name, fd, t.vnet)
		if err != nil {
			t.Close()
			return nil, err
		}
		t.queues = append(t.queues, q)
	}
	if err := t.linkUp(opts.MTU); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// attach opens /dev/net/tun and binds it to the device with TUNSETIFF; the
// kernel returns the device's real name (tap%d resolved).
func (t *Tap) attach(flags uint16) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, fmt.Errorf("tap %s: open /dev/net/tun: %w", t.name, err)
	}
	ifr, err := unix.NewIfreq(t.name)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("tap %s: %w", t.name, err)
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		if err == unix.EBUSY || err == unix.EINVAL {
			return -1, fmt.Errorf("tap %s: TUNSETIFF: %w (in use, or not a tap of the same kind)", t.name, err)
		}
		return -1, fmt.Errorf("tap %s: TUNSETIFF: %w", t.name, err)
	}
	t.name = ifr.Name()
	return fd, nil
}

// setup negotiates the virtio-net header and offloads and persistence on
// the first queue's descriptor.
func (t *Tap) setup(fd int, opts Options) error {
	if t.vnet {
		if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetHdrLen); err != nil {
			return fmt.Errorf("tap %s: TUNSETVNETHDRSZ: %w", t.name, err)
		}
		// The header is little-endian on every architecture hostnet runs
		// on; say so for the big-endian ones, where the kernel allows it.
		_ = unix.IoctlSetPointerInt(fd, unix.TUNSETVNETLE, 1)
		want := OffloadCsum | OffloadTSO4 | OffloadTSO6
		all := want | OffloadUSO4 | OffloadUSO6
		if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, int(all)); err == nil {
			t.offloads = all
		} else if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, int(want)); err == nil {
			// A kernel before 6.2 has no USO.
			t.offloads = want
		} else {
			return fmt.Errorf("tap %s: TUNSETOFFLOAD: %w", t.name, err)
		}
	}
	if opts.Persist && !t.existed {
		if err := unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1); err != nil {
			return fmt.Errorf("tap %s: TUNSETPERSIST: %w", t.name, err)
		}
	}
	t.persist = opts.Persist || t.isPersistent(fd)
	return nil
}

// isPersistent reports whether the device has IFF_PERSIST (TUNGETIFF).
func (t *Tap) isPersistent(fd int) bool {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return false
	}
	if err := unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err != nil {
		return false
	}
	return ifr.Uint16()&unix.IFF_PERSIST != 0
}

// linkUp sets the MTU, if given, and the IFF_UP flag, through an AF_INET
// datagram socket as ifconfig does.
func (t *Tap) linkUp(mtu int) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tap %s: socket: %w", t.name, err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(t.name)
	if err != nil {
		return fmt.Errorf("tap %s: %w", t.name, err)
	}
	if mtu != 0 {
		ifr.SetUint32(uint32(mtu))
		if err := unix.IoctlIfreq(s, unix.SIOCSIFMTU, ifr); err != nil {
			return fmt.Errorf("tap %s: set mtu %d: %w", t.name, mtu, err)
		}
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tap %s: get flags: %w", t.name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tap %s: set up: %w", t.name, err)
	}
	return nil
}

// linkExists reports whether a network interface of that name exists.
func linkExists(name string) bool {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false
	}
	return unix.IoctlIfreq(s, unix.SIOCGIFINDEX, ifr) == nil
}

func isDeleted(err error) bool { return err == unix.EBADFD }

// Name returns the device's name.
func (t *Tap) Name() string { return t.name }

// Existed reports whether the device existed before Open.
func (t *Tap) Existed() bool { return t.existed }

// Persistent reports whether the device outlives Close.
func (t *Tap) Persistent() bool { return t.persist }

// VnetHdr reports whether frames carry their offload state (packet.GSO)
// across the tap: super-frames and partial checksums come in and may go
// out.
func (t *Tap) VnetHdr() bool { return t.vnet }

// Offloads returns the offloads the kernel accepted.
func (t *Tap) Offloads() Offload { return t.offloads }

// Remove clears the device's persistent flag and closes it, so that it goes
// away (unless another process holds it open): for a daemon removing the
// persistent taps it made.
func (t *Tap) Remove() error {
	if len(t.queues) > 0 && t.persist {
		var perr error
		if err := t.queues[0].rc.Control(func(fd uintptr) {
			perr = unix.IoctlSetInt(int(fd), unix.TUNSETPERSIST, 0)
		}); err != nil {
			perr = err
		}
		if perr != nil {
			return fmt.Errorf("tap %s: clear persist: %w", t.name, perr)
		}
		t.persist = false
	}
	return t.Close()
}

// Create makes the persistent tap device name (or finds it), sets its MTU
// (opts.MTU, when not 0) and brings it up, and lets go of it: for a
// hypervisor to attach to with its own descriptor (QEMU's -netdev
// tap,ifname=NAME), while hostnet attaches to the device's kernel side
// with package afpacket. The device stays when the hypervisor stops (its
// carrier goes off and frames written to it are dropped) and comes back
// to life when it attaches again. An empty name takes the lowest free
// tapN. Create returns the device's name and reports whether it existed
// before. The offloads are left to the hypervisor, which negotiates its
// own.
func Create(name string, opts Options) (string, bool, error) {
	t, err := Open(name, Options{MTU: opts.MTU, Persist: true, NoVnetHdr: true})
	if err != nil {
		return "", false, err
	}
	name, existed := t.Name(), t.Existed()
	return name, existed, t.Close()
}

// Delete removes the persistent tap device name, as Remove does. It fails
// while another process (a running hypervisor) holds the device.
func Delete(name string) error {
	t, err := Open(name, Options{NoVnetHdr: true})
	if err != nil {
		return err
	}
	t.persist = true // make Remove clear the flag whatever TUNGETIFF said
	return t.Remove()
}
