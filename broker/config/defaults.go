package config

import "time"

// defaultLiteral is default.toml as a Go value, for builds without TOML
// (notoml). TestDefaultLiteralMatchesDefaultTOML keeps the two equal.
func defaultLiteral() *Config {
	return &Config{
		Listeners:               []Listener{{Port: 1883, BindAddress: "127.0.0.1", Protocol: "mqtt"}},
		AllowAnonymous:          true,
		AllowZeroLengthClientID: true,
		AutoIDPrefix:            "auto-",
		MaxConnections:          1024,
		MaxKeepalive:            65535,
		MaxPacketSize:           2000000,
		MaxConnectPacketSize:    65536,
		ConnectTimeout:          Duration(10 * time.Second),
		MaxInflightMessages:     20,
		MaxQueuedMessages:       1000,
		MaxTopicLevels:          128,
		MaxSessionExpiry:        Duration(168 * time.Hour),
		ClientBufferBytes:       262144,
		RetainAvailable:         true,
		SysInterval:             Duration(10 * time.Second),

		MessageSizeLimit:          2000000,
		MaxInflightBytes:          1048576,
		MaxQueuedBytes:            4194304,
		MaxQoS:                    2,
		MaxTopicAlias:             10,
		MaxSubscriptionsPerClient: 1000,
		MaxFilterLength:           1024,
		MaxRetainedMessages:       10000,
		MaxRetainedBytes:          16777216,
		MemoryLimit:               67108864,
		OverflowPolicy:            "drop-newest",

		Persistence: Persistence{Dir: "/var/lib/midge", Sync: "interval", SyncInterval: Duration(time.Second), AckTimeout: Duration(5 * time.Second),
			SegmentBytes: 4194304, MaxStoreBytes: 67108864, BatchBytes: 16384, BatchDelay: Duration(2 * time.Millisecond)},
		Hardware: Hardware{WatchdogTimeout: Duration(30 * time.Second), LEDRoot: "/sys/class/leds"},
		Log:      Log{Dest: []string{"stderr"}, Types: []string{"error", "warning", "notice", "information"}},
	}
}
