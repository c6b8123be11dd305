//go:build !nocli

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"

	"midge/persist"
)

// runLogcheck verifies every record of a store, like `bbolt check`.
func runLogcheck(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: midge logcheck DIR")
		return 2
	}
	reps, err := persist.Check(args[0], nil, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 2
	}
	damaged := false
	var prevLast uint64
	for i, r := range reps {
		status := "ok"
		if r.BadOffset >= 0 {
			damaged = true
			status = fmt.Sprintf("DAMAGED at offset %d (%d bytes after it unreadable)", r.BadOffset, r.Bytes-r.BadOffset)
			switch {
			case r.LostFrom != 0:
				status += fmt.Sprintf("; sequence numbers %d-%d lost", r.LostFrom, r.LostTo)
			case i < len(reps)-1:
				status += "; nothing lost: the next segment holds these records"
			}
		}
		if i > 0 && r.Records > 0 && r.FirstSeq <= prevLast {
			status += " (overlaps the previous segment: a compaction or a retry after a failed write left it, replay skips the duplicates)"
		}
		fmt.Printf("%s: %d records, seq %d-%d, %d bytes: %s\n", r.Name, r.Records, r.FirstSeq, r.LastSeq, r.Bytes, status)
		if r.LastSeq > prevLast {
			prevLast = r.LastSeq
		}
	}
	if damaged {
		fmt.Println("damage found")
		return 1
	}
	fmt.Printf("%d segments, no damage\n", len(reps))
	return 0
}

// runLogdump prints every record, as text or JSON lines.
func runLogdump(args []string) int {
	fs := flag.NewFlagSet("midge logdump", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object per record")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: midge logdump [--json] DIR")
		return 2
	}
	enc := json.NewEncoder(os.Stdout)
	_, err := persist.Check(fs.Arg(0), nil, func(seg string, r persist.Record) {
		fields := describe(r)
		fields["segment"], fields["seq"], fields["type"] = seg, r.Seq, persist.RecordNames[r.Type]
		if *asJSON {
			enc.Encode(fields)
			return
		}
		fmt.Printf("%s seq=%d %s", seg, r.Seq, persist.RecordNames[r.Type])
		for _, k := range []string{"client", "version", "expiry", "filter", "qos", "topic", "mid", "packet_id", "state", "payload_bytes", "covered"} {
			if v, ok := fields[k]; ok {
				fmt.Printf(" %s=%v", k, v)
			}
		}
		fmt.Println()
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// describe decodes a record's fields for logdump.
func describe(r persist.Record) map[string]any {
	d := persist.Dec{B: r.Payload}
	f := map[string]any{}
	switch r.Type {
	case persist.RecSessionPut:
		f["client"], f["version"], f["expiry"] = d.String(), d.Byte(), d.Uint()
	case persist.RecSessionDel:
		f["client"] = d.String()
	case persist.RecSubPut:
		f["client"], f["filter"], f["qos"] = d.String(), d.String(), d.Byte()
	case persist.RecSubDel:
		f["client"], f["filter"] = d.String(), d.String()
	case persist.RecRetainPut:
		f["topic"], f["qos"], f["expiry"] = d.String(), d.Byte(), d.Uint()
		d.Bytes()
		f["payload_bytes"] = len(d.Bytes())
	case persist.RecRetainDel:
		f["topic"] = d.String()
	case persist.RecMessage:
		f["mid"], f["qos"], f["expiry"], f["topic"] = d.Uint(), d.Byte(), d.Uint(), d.String()
		d.Bytes()
		f["payload_bytes"] = len(d.Bytes())
	case persist.RecDeliveryPut, persist.RecDeliveryDel:
		f["client"], f["mid"] = d.String(), d.Uint()
		if r.Type == persist.RecDeliveryPut {
			f["qos"] = d.Byte()
		}
	case persist.RecDeliverySent:
		f["client"], f["mid"], f["packet_id"], f["state"] = d.String(), d.Uint(), d.Uint(), d.Byte()
	case persist.RecInboundPut, persist.RecInboundDel:
		f["client"], f["packet_id"] = d.String(), d.Uint()
	case persist.RecCheckpoint:
		if len(r.Payload) == 8 {
			var v uint64
			for i := 7; i >= 0; i-- {
				v = v<<8 | uint64(r.Payload[i])
			}
			f["covered"] = strconv.FormatUint(v, 10)
		}
	}
	if d.Err != nil {
		f["error"] = "undecodable payload"
	}
	return f
}

func init() {
	register("logcheck", runLogcheck, "verify a persistence directory (exit 1 on damage)")
	register("logdump", runLogdump, "print a persistence directory's records (--json)")
	features = append(features, "logtools")
}
