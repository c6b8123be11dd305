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
// limits, persistence, logging and process (mosquitto_options.go). The
// directives midge accepts without acting on them are in the ignored table.
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
	{"allow_anonymous", securityOption},
	{"allow_zero_length_clientid", securityOption},
	{"auto_id_prefix", securityOption},
	{"autosave_interval", autosaveInterval},
	{"autosave_on_changes", autosaveOnChanges},
	{"bind_address", bindAddress},
	{"cafile", tlsFile},
	{"capath", tlsFile},
	{"certfile", tlsFile},
	{"ciphers", ciphers},
	{"crlfile", tlsFile},
	{"global_max_clients", globalMaxConnections},
	{"global_max_connections", globalMaxConnections},
	{"keyfile", tlsFile},
	{"listener", listener},
	{"listener_allow_anonymous", listenerAllowAnonymous},
	{"listener_auto_id_prefix", listenerAutoIDPrefix},
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
	{"memory_limit", byteLimit},
	{"message_size_limit", byteLimit},
	{"password_file", securityOption},
	{"per_listener_settings", perListenerSettings},
	{"persistence", persistence},
	{"persistence_location", persistenceLocation},
	{"persistent_client_expiration", persistentClientExpiration},
	{"pid_file", pidFile},
	{"port", port},
	{"protocol", protocol},
	{"queue_qos0_messages", queueQoS0Messages},
	{"require_certificate", clientCertificate},
	{"retain_available", retainAvailable},
	{"set_tcp_nodelay", setTCPNoDelay},
	{"sys_interval", sysInterval},
	{"tls_version", tlsFile},
	{"upgrade_outgoing_qos", upgradeOutgoingQoS},
	{"use_identity_as_username", clientCertificate},
	{"use_subject_as_username", clientCertificate},
	{"use_username_as_clientid", useUsernameAsClientID},
	{"websockets_origin", websocketsOrigin},
}

// The notes of directives midge does not act on yet.
const (
	laterAuth        = "not supported yet (authentication); ignored"
	laterBridges     = "not supported yet (bridges); ignored"
	laterLimits      = "not supported yet (limits); ignored"
	laterListener    = "not supported yet (listener options); ignored"
	laterLogging     = "not supported yet (logging); ignored"
	laterPersistence = "not supported yet (persistence); ignored"
	laterProcess     = "not supported yet (process); ignored"
	laterTLS         = "not supported yet (TLS); ignored"
	notePSK          = "TLS-PSK is not available in Go's TLS; use certificates (see docs/mosquitto-migration.md)"
)

// ignored maps the Mosquitto directives midge accepts without acting on
// them to the note logged for each, with its file and line; sorted like
// directives.
var ignored = []struct{ name, note string }{
	{"accept_protocol_versions", laterLimits},
	{"address", laterBridges},
	{"addresses", laterBridges},
	{"allow_duplicate_messages", laterLimits},
	{"auth_plugin", laterAuth},
	{"auth_plugin_deny_special_chars", laterAuth},
	{"bind_interface", laterListener},
	{"bridge_alpn", laterBridges},
	{"bridge_attempt_unsubscribe", laterBridges},
	{"bridge_bind_address", laterBridges},
	{"bridge_cafile", laterBridges},
	{"bridge_capath", laterBridges},
	{"bridge_certfile", laterBridges},
	{"bridge_ciphers", laterBridges},
	{"bridge_ciphers_tls1.3", laterBridges},
	{"bridge_identity", laterBridges},
	{"bridge_insecure", laterBridges},
	{"bridge_keyfile", laterBridges},
	{"bridge_max_packet_size", laterBridges},
	{"bridge_max_topic_alias", laterBridges},
	{"bridge_outgoing_retain", laterBridges},
	{"bridge_protocol_version", laterBridges},
	{"bridge_psk", laterBridges},
	{"bridge_receive_maximum", laterBridges},
	{"bridge_reload_type", laterBridges},
	{"bridge_require_ocsp", laterBridges},
	{"bridge_session_expiry_interval", laterBridges},
	{"bridge_tcp_keepalive", laterBridges},
	{"bridge_tcp_user_timeout", laterBridges},
	{"bridge_tls_use_os_certs", laterBridges},
	{"bridge_tls_version", laterBridges},
	{"check_retain_source", laterLimits},
	{"ciphers_tls1.3", "Go's TLS always offers its three TLS 1.3 suites (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305); not configurable, ignored"},
	{"cleansession", laterBridges},
	{"clientid_prefixes", laterAuth},
	{"connection", laterBridges},
	{"connection_messages", laterLogging},
	{"dhparamfile", laterTLS},
	{"disable_client_cert_date_checks", laterTLS},
	{"enable_control_api", laterProcess},
	{"enable_proxy_protocol", laterListener},
	{"global_plugin", laterAuth},
	{"http_dir", laterListener},
	{"idle_timeout", laterBridges},
	{"keepalive_interval", laterBridges},
	{"local_cleansession", laterBridges},
	{"local_clientid", laterBridges},
	{"local_password", laterBridges},
	{"local_username", laterBridges},
	{"log_facility", laterLogging},
	{"log_file", laterLogging},
	{"log_timestamp", laterLogging},
	{"log_timestamp_format", laterLogging},
	{"max_topic_alias_broker", laterLimits},
	{"mount_point", laterListener},
	{"notification_topic", laterBridges},
	{"notifications", laterBridges},
	{"notifications_local_only", laterBridges},
	{"packet_buffer_size", laterListener},
	{"persistence_file", "midge keeps a directory of log segments (persistence_location), not one file; ignored"},
	{"plugin", laterAuth},
	{"psk_file", notePSK},
	{"psk_hint", notePSK},
	{"remote_clientid", laterBridges},
	{"remote_password", laterBridges},
	{"remote_username", laterBridges},
	{"restart_timeout", laterBridges},
	{"retain_expiry_interval", laterLimits},
	{"retry_interval", laterProcess},
	{"round_robin", laterBridges},
	{"socket_domain", laterListener},
	{"start_type", laterBridges},
	{"store_clean_interval", laterPersistence},
	{"threshold", laterBridges},
	{"tls_engine", laterTLS},
	{"tls_engine_kpass_sha1", laterTLS},
	{"tls_keyform", laterTLS},
	{"tls_keylog", laterTLS},
	{"topic", laterBridges},
	{"try_private", laterBridges},
	{"user", "midge does not switch users; run it as the user it should be (init script or service manager)"},
	{"websockets_headers_size", laterListener},
	{"websockets_log_level", laterListener},
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
