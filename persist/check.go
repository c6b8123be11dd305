package persist

import (
	"fmt"
	"path/filepath"
)

// SegmentReport is what Check found in one segment.
type SegmentReport struct {
	Name      string
	Records   int
	FirstSeq  uint64
	LastSeq   uint64
	Bytes     int64
	BadOffset int64 // -1 when the segment is whole
	// LostFrom-LostTo are the sequence numbers a damaged segment loses:
	// those after its last valid record that the next segment does not
	// hold (recovery's rule; 0-0 when none, as after a failed write whose
	// records the next segment repeats).
	LostFrom, LostTo uint64
}

// Check reads every segment in dir without changing anything and reports,
// per segment, the records it holds and where the first damage is.
func Check(dir string, fs FS, each func(seg string, r Record)) ([]SegmentReport, error) {
	if fs == nil {
		fs = OS{}
	}
	names, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, n := range names {
		if filepath.Ext(n) == ".seg" {
			var first uint64
			if _, err := fmt.Sscanf(n, "%d.seg", &first); err == nil {
				segs = append(segs, segment{name: n, first: first})
			}
		}
	}
	sortSegments(segs)
	var out []SegmentReport
	for _, sg := range segs {
		data, err := fs.ReadFile(filepath.Join(dir, sg.name))
		if err != nil {
			return out, err
		}
		rep := SegmentReport{Name: sg.name, Bytes: int64(len(data)), BadOffset: -1}
		for off := 0; off < len(data); {
			r, n, err := parseRecord(data[off:])
			if err != nil {
				rep.BadOffset = int64(off)
				break
			}
			if rep.Records == 0 {
				rep.FirstSeq = r.Seq
			}
			rep.LastSeq = r.Seq
			rep.Records++
			if each != nil {
				each(sg.name, r)
			}
			off += n
		}
		out = append(out, rep)
	}
	// What a damaged segment loses: the sequence numbers between the
	// highest one up to its bad record and the next valid record.
	var applied uint64
	for i := range out {
		applied = max(applied, out[i].LastSeq)
		if out[i].BadOffset < 0 {
			continue
		}
		for _, next := range out[i+1:] {
			if next.Records > 0 {
				out[i].LostFrom, out[i].LostTo = lostRange(applied, next.FirstSeq)
				break
			}
		}
	}
	return out, nil
}
