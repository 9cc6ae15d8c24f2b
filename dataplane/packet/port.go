package packet

// Port moves batches of frames between hostnet and something outside it: a
// tap device, a host NIC, a pcap file, an in-memory queue.
//
// ReadBatch fills packets the caller owns, starting at pkts[0], with at most
// len(pkts) frames, and returns how many it filled. It blocks until at least
// one frame is there; it returns io.EOF when no frame will ever come again
// (the end of a file, a closed port). Each filled packet has been Reset and
// holds one frame with InPort unset and, where the port knows it, Stamp.
//
// WriteBatch borrows the packets: it sends their frames and returns; the
// caller still owns them and may change and send them again. It returns how
// many were sent; an error means the rest were not.
//
// A Port is used by one reader and one writer goroutine at a time.
type Port interface {
	ReadBatch(pkts []*Packet) (int, error)
	WriteBatch(pkts []*Packet) (int, error)
	Close() error
}
