//go:build !nocli

package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"midge/broker/packet"
)

// formatMessage renders a message with mosquitto_sub's -F format: %t topic,
// %p payload, %q QoS, %r retain flag, %l payload length, %m message id,
// %x/%X payload in hex, %I ISO 8601 time, %U Unix time with nanoseconds,
// %j the message as JSON, %J the same with the payload as JSON, %% a
// percent sign; \n \t \r \v \a \e \0 and \\ escapes. Field widths, @
// time formats and the MQTT 5 property specifiers are not supported
// (checkFormat refuses them).
func formatMessage(format string, p *packet.Publish, now time.Time) []byte {
	var out []byte
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if i+1 >= len(format) || (ch != '%' && ch != '\\') {
			out = append(out, ch)
			continue
		}
		i++
		if ch == '\\' {
			if e := strings.IndexByte(`\ntrvae0`, format[i]); e >= 0 {
				out = append(out, "\\\n\t\r\v\a\x1b\x00"[e])
			} else {
				out = append(out, '\\', format[i])
			}
			continue
		}
		switch format[i] {
		case '%':
			out = append(out, '%')
		case 't':
			out = append(out, p.Topic...)
		case 'p':
			out = append(out, p.Payload...)
		case 'q':
			out = strconv.AppendInt(out, int64(p.QoS), 10)
		case 'r':
			out = strconv.AppendInt(out, int64(b2i(p.Retain)), 10)
		case 'l':
			out = strconv.AppendInt(out, int64(len(p.Payload)), 10)
		case 'm':
			out = strconv.AppendInt(out, int64(p.PacketID), 10)
		case 'x':
			out = hex.AppendEncode(out, p.Payload)
		case 'X':
			out = append(out, strings.ToUpper(hex.EncodeToString(p.Payload))...)
		case 'I':
			out = now.AppendFormat(out, "2006-01-02T15:04:05-0700")
		case 'U':
			out = fmt.Appendf(out, "%d.%09d", now.Unix(), now.Nanosecond())
		case 'j', 'J':
			out = appendJSON(out, p, now, format[i] == 'J')
		}
	}
	return out
}

// checkFormat refuses a -F format with a specifier midge does not print,
// as mosquitto_sub refuses one it does not know.
func checkFormat(format string) error {
	for i := 0; i+1 < len(format); i++ {
		if format[i] == '%' {
			i++
			if !strings.ContainsRune("%tpqrlmxXIUjJ", rune(format[i])) {
				return fmt.Errorf("Invalid format specifier '%c'.", format[i])
			}
		}
	}
	return nil
}

// appendJSON writes the message as mosquitto_sub's %j/%J do; %J with a
// payload that is not JSON is reported and left out.
func appendJSON(out []byte, p *packet.Publish, now time.Time, rawPayload bool) []byte {
	if rawPayload && len(p.Payload) > 0 && !json.Valid(p.Payload) {
		fmt.Fprintf(os.Stderr, "Error: Message payload is not valid JSON on topic %s.\n", p.Topic)
		return out
	}
	out = append(out, `{"tst":"`...)
	out = now.UTC().AppendFormat(out, "2006-01-02T15:04:05.000000Z+0000")
	out = append(out, `","topic":`...)
	out = appendJSONString(out, p.Topic)
	out = fmt.Appendf(out, `,"qos":%d,"retain":%d,"payloadlen":%d`, p.QoS, b2i(p.Retain), len(p.Payload))
	if p.QoS > 0 {
		out = fmt.Appendf(out, `,"mid":%d`, p.PacketID)
	}
	out = append(out, `,"payload":`...)
	switch {
	case len(p.Payload) == 0:
		out = append(out, "null"...)
	case rawPayload:
		out = append(out, p.Payload...)
	default:
		out = appendJSONString(out, p.Payload)
	}
	return append(out, '}')
}

// appendJSONString quotes s as a JSON string, escaping only what JSON
// requires (as cJSON does: no \u003c for '<').
func appendJSONString(out, s []byte) []byte {
	out = append(out, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\n':
			out = append(out, `\n`...)
		case c == '\r':
			out = append(out, `\r`...)
		case c == '\t':
			out = append(out, `\t`...)
		case c < 0x20:
			out = fmt.Appendf(out, `\u%04x`, c)
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}
