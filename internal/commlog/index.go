package commlog

// slotList is a device's entries, oldest first, as indexes into the ring.
// It holds exactly the device's live entries: Record drops the oldest when
// the ring overwrites it.
type slotList struct {
	slots []int32
	head  int // slots[head:] are live
}

func (s *slotList) len() int      { return len(s.slots) - s.head }
func (s *slotList) at(i int) int  { return int(s.slots[s.head+i]) }
func (s *slotList) push(slot int) { s.slots = append(s.slots, int32(slot)) }

// popFront drops slot if it is the oldest; the slice is compacted when
// half of it is dead, so it stays within twice the device's live entries.
func (s *slotList) popFront(slot int) {
	if s.len() == 0 || int(s.slots[s.head]) != slot {
		return
	}
	s.head++
	if s.head == len(s.slots) {
		s.slots, s.head = s.slots[:0], 0
		return
	}
	if s.head >= 32 && s.head*2 >= len(s.slots) {
		n := copy(s.slots, s.slots[s.head:])
		s.slots, s.head = s.slots[:n], 0
	}
}
