// Package packet parses and encodes the control packets of MQTT 3.1 (MQIsdp),
// 3.1.1 and 5.0, including every MQTT 5 property and reason code.
//
// Parsing never copies: every []byte field of a decoded packet (topics,
// payloads, client ids, property values) is a view into the buffer passed to
// the decoder. Those views are valid only until the caller reuses that buffer,
// which in the broker means until the handler that received the packet
// returns. Anything that must outlive the handler (a queued or retained
// message, a session's client id) has to be copied by the caller.
//
// Encoders append to a caller-supplied slice and allocate only when that
// slice lacks capacity, so a reused scratch buffer makes encoding free of
// allocations.
//
// Decoding PUBLISH, the four acknowledgements, PINGREQ/PINGRESP and
// DISCONNECT allocates nothing; tests assert it with testing.AllocsPerRun.
package packet
