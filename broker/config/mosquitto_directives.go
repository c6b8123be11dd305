package config

import "sort"

// line is one directive of a mosquitto.conf.
type line struct {
	where string   // "file:line"
	key   string   // the directive
	args  []string // the tokens after it
	rest  string   // the rest of the line, trimmed: string values
}

// A handler applies one directive. Handlers are grouped by concern:
// listeners (mosquitto_listener.go), security (mosquitto_security.go),
// limits, persistence, logging and process (mosquitto_options.go), and the
// features midge cannot honour: plugins, bridges, TLS-PSK
// (mosquitto_unsupported.go). The directives midge accepts without acting
// on them are in the ignored table.
type handler func(im *importer, d *line) error

// directives maps every directive midge acts on to its handler. It is a
// slice sorted by name and searched by binary search, not a map: a static
// table costs no init code and no map in the binary (the minimal MIPS build
// is size-bound). TestDirectiveTablesSorted keeps it sorted and unique.
var directives = []struct {
	name string
	fn   handler
}{
	{"acl_file", securityOption},
	{"address", bridgeOption},
	{"addresses", bridgeOption},
	{"allow_anonymous", securityOption},
	{"allow_unsupported", allowUnsupported},
	{"allow_zero_length_clientid", securityOption},
	{"auth_plugin", plugin},
	{"auth_plugin_deny_special_chars", pluginOption},
	{"auto_id_prefix", securityOption},
	{"autosave_interval", autosaveInterval},
	{"autosave_on_changes", autosaveOnChanges},
	{"bind_address", bindAddress},
	{"bind_interface", refused},
	{"bridge_alpn", bridgeOption},
	{"bridge_attempt_unsubscribe", bridgeOption},
	{"bridge_bind_address", bridgeOption},
	{"bridge_cafile", bridgeOption},
	{"bridge_capath", bridgeOption},
	{"bridge_certfile", bridgeOption},
	{"bridge_ciphers", bridgeOption},
	{"bridge_ciphers_tls1.3", bridgeOption},
	{"bridge_identity", bridgeOption},
	{"bridge_insecure", bridgeOption},
	{"bridge_keyfile", bridgeOption},
	{"bridge_max_packet_size", bridgeOption},
	{"bridge_max_topic_alias", bridgeOption},
	{"bridge_outgoing_retain", bridgeOption},
	{"bridge_protocol_version", bridgeOption},
	{"bridge_psk", bridgeOption},
	{"bridge_receive_maximum", bridgeOption},
	{"bridge_reload_type", bridgeOption},
	{"bridge_require_ocsp", bridgeOption},
	{"bridge_session_expiry_interval", bridgeOption},
	{"bridge_tcp_keepalive", bridgeOption},
	{"bridge_tcp_user_timeout", bridgeOption},
	{"bridge_tls_use_os_certs", bridgeOption},
	{"bridge_tls_version", bridgeOption},
	{"cafile", tlsFile},
	{"capath", tlsFile},
	{"certfile", tlsFile},
	{"ciphers", ciphers},
	{"cleansession", bridgeOption},
	{"clientid", bridgeOption},
	{"clientid_prefixes", refused},
	{"connection", connection},
	{"crlfile", tlsFile},
	{"global_max_clients", globalMaxConnections},
	{"global_max_connections", globalMaxConnections},
	{"global_plugin", plugin},
	{"idle_timeout", bridgeOption},
	{"keepalive_interval", bridgeOption},
	{"keyfile", tlsFile},
	{"listener", listener},
	{"listener_allow_anonymous", listenerAllowAnonymous},
	{"listener_auto_id_prefix", listenerAutoIDPrefix},
	{"local_cleansession", bridgeOption},
	{"local_clientid", bridgeOption},
	{"local_password", bridgeOption},
	{"local_username", bridgeOption},
	{"log_dest", logDest},
	{"log_type", logType},
	{"max_connections", maxConnections},
	{"max_inflight_bytes", byteLimit},
	{"max_inflight_messages", maxInflightMessages},
	{"max_keepalive", maxKeepalive},
	{"max_packet_size", maxPacketSize},
	{"max_qos", qosOrAlias},
	{"max_queued_bytes", byteLimit},
	{"max_queued_messages", maxQueuedMessages},
	{"max_topic_alias", qosOrAlias},
	{"maximum_qos", qosOrAlias},
	{"memory_limit", byteLimit},
	{"message_size_limit", byteLimit},
	{"mount_point", refused},
	{"notification_topic", bridgeOption},
	{"notifications", bridgeOption},
	{"notifications_local_only", bridgeOption},
	{"password", bridgeOption},
	{"password_file", securityOption},
	{"per_listener_settings", perListenerSettings},
	{"persistence", persistence},
	{"persistence_location", persistenceLocation},
	{"persistent_client_expiration", persistentClientExpiration},
	{"pid_file", pidFile},
	{"plugin", plugin},
	{"plugin_load", plugin},
	{"plugin_use", pluginOption},
	{"port", port},
	{"protocol", protocol},
	{"psk_file", psk},
	{"psk_hint", psk},
	{"queue_qos0_messages", queueQoS0Messages},
	{"remote_clientid", bridgeOption},
	{"remote_password", bridgeOption},
	{"remote_username", bridgeOption},
	{"require_certificate", clientCertificate},
	{"restart_timeout", bridgeOption},
	{"retain_available", retainAvailable},
	{"retained_persistence", persistence},
	{"round_robin", bridgeOption},
	{"set_tcp_nodelay", setTCPNoDelay},
	{"start_type", bridgeOption},
	{"sys_interval", sysInterval},
	{"threshold", bridgeOption},
	{"tls_version", tlsFile},
	{"topic", bridgeOption},
	{"try_private", bridgeOption},
	{"upgrade_outgoing_qos", upgradeOutgoingQoS},
	{"use_identity_as_username", clientCertificate},
	{"use_subject_as_username", clientCertificate},
	{"use_username_as_clientid", useUsernameAsClientID},
	{"username", bridgeOption},
	{"websockets_origin", websocketsOrigin},
}

// noteEngine is the note of the OpenSSL engine directives.
const noteEngine = "no OpenSSL engines: keyfile must be a PEM private key file"

// ignored maps the Mosquitto directives midge accepts without acting on
// them to the note logged for each, with its file and line: what the user
// loses. Sorted like directives.
var ignored = []struct{ name, note string }{
	{"accept_protocol_versions", "clients of every MQTT version (3.1, 3.1.1, 5.0) are accepted, not only those listed"},
	{"allow_duplicate_messages", "a client whose subscriptions overlap always gets one copy of a message (as with false)"},
	{"check_retain_source", "retained messages are delivered without re-checking that their publisher may still write to the topic"},
	{"ciphers_tls1.3", "Go's TLS always offers its three TLS 1.3 suites (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305); not configurable, ignored"},
	{"connection_messages", "client connects and disconnects are always logged (log_type notice)"},
	{"dhparamfile", "no DHE key exchange (Go's TLS has none): clients use ECDHE"},
	{"disable_client_cert_date_checks", "client certificates outside their validity dates are still refused"},
	{"enable_control_api", "the $CONTROL/broker/v1 API (listPlugins, listListeners) is not available"},
	{"enable_proxy_protocol", "no PROXY protocol: connections through a proxy that sends the PROXY header fail, and the proxy's address is seen instead of the client's"},
	{"http_dir", "no files are served over HTTP on websockets listeners"},
	{"log_facility", "syslog lines keep the facility daemon"},
	{"log_file", "no log file: lines go to log_dest"},
	{"log_timestamp", "log lines always carry a timestamp"},
	{"log_timestamp_format", "log timestamps keep midge's format"},
	{"max_topic_alias_broker", "outbound topic aliases follow each client's own Topic Alias Maximum"},
	{"packet_buffer_size", "no effect: midge sizes its buffers itself (client_buffer_bytes)"},
	{"persistence_file", "midge keeps a directory of log segments (persistence_location), not one file; ignored"},
	{"proxy_protocol_v2_require_tls", "no PROXY protocol (see enable_proxy_protocol), so nothing to require TLS of"},
	{"retain_expiry_interval", "retained messages do not expire, except by their own message expiry interval"},
	{"retry_interval", "no effect (Mosquitto 2 does not use it either)"},
	{"socket_domain", "the address family follows bind_address: empty listens on IPv4, \"::\" on IPv6 and IPv4"},
	{"store_clean_interval", "no effect (Mosquitto dropped it too)"},
	{"tls_engine", noteEngine},
	{"tls_engine_kpass_sha1", noteEngine},
	{"tls_keyform", noteEngine},
	{"tls_keylog", "TLS key logging is not available"},
	{"user", "midge does not switch users; run it as the user it should be (init script or service manager)"},
	{"websockets_headers_size", "no effect: midge sizes its buffers itself (client_buffer_bytes)"},
	{"websockets_log_level", "no effect: midge has no libwebsockets log"},
}

// lookupDirective returns key's handler, or nil.
func lookupDirective(key string) handler {
	i := sort.Search(len(directives), func(i int) bool { return directives[i].name >= key })
	if i < len(directives) && directives[i].name == key {
		return directives[i].fn
	}
	return nil
}

// lookupIgnored returns key's note, or "" if midge does not know key.
func lookupIgnored(key string) string {
	i := sort.Search(len(ignored), func(i int) bool { return ignored[i].name >= key })
	if i < len(ignored) && ignored[i].name == key {
		return ignored[i].note
	}
	return ""
}
