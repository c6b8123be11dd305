package config

import (
	"strings"
	"testing"
)

// mosquittoDirectives are every directive Mosquitto 2.0.20 and 2.1 read (the
// strcmp(token, ...) chain of their src/conf.c), aliases included.
var mosquittoDirectives = strings.Fields(`
accept_protocol_versions acl_file address addresses allow_anonymous
allow_duplicate_messages allow_zero_length_clientid auth_plugin
auth_plugin_deny_special_chars auto_id_prefix autosave_interval
autosave_on_changes bind_address bind_interface bridge_alpn
bridge_attempt_unsubscribe bridge_bind_address bridge_cafile bridge_capath
bridge_certfile bridge_ciphers bridge_ciphers_tls1.3 bridge_identity
bridge_insecure bridge_keyfile bridge_max_packet_size
bridge_max_topic_alias bridge_outgoing_retain bridge_protocol_version
bridge_psk bridge_receive_maximum bridge_reload_type bridge_require_ocsp
bridge_session_expiry_interval bridge_tcp_keepalive bridge_tcp_user_timeout
bridge_tls_use_os_certs bridge_tls_version cafile capath certfile
check_retain_source ciphers ciphers_tls1.3 cleansession clientid
clientid_prefixes connection connection_messages crlfile dhparamfile
disable_client_cert_date_checks enable_control_api enable_proxy_protocol
global_max_clients global_max_connections global_plugin http_dir
idle_timeout include_dir keepalive_interval keyfile listener
listener_allow_anonymous listener_auto_id_prefix local_cleansession
local_clientid local_password local_username log_dest log_facility
log_timestamp log_timestamp_format log_type max_connections
max_inflight_bytes max_inflight_messages max_keepalive max_packet_size
max_qos max_queued_bytes max_queued_messages max_topic_alias
max_topic_alias_broker maximum_qos memory_limit message_size_limit
mount_point notification_topic notifications notifications_local_only
packet_buffer_size password password_file per_listener_settings persistence
persistence_file persistence_location persistent_client_expiration pid_file
plugin plugin_load plugin_use port protocol proxy_protocol_v2_require_tls
psk_file psk_hint queue_qos0_messages remote_clientid remote_password
remote_username require_certificate restart_timeout retain_available
retain_expiry_interval retained_persistence retry_interval round_robin
set_tcp_nodelay socket_domain start_type sys_interval threshold tls_engine
tls_engine_kpass_sha1 tls_keyform tls_version topic try_private
upgrade_outgoing_qos use_identity_as_username use_subject_as_username
use_username_as_clientid user username websockets_headers_size
websockets_log_level websockets_origin
auth_opt_x plugin_opt_x`)

// Every directive Mosquitto 2.0 and 2.1 accept is known: acted on, or
// accepted with a note, or refused for a stated reason, never "unknown
// configuration directive".
func TestEveryMosquittoDirectiveKnown(t *testing.T) {
	if len(mosquittoDirectives) < 140 {
		t.Fatalf("only %d directives listed", len(mosquittoDirectives))
	}
	dir := t.TempDir()
	for _, key := range mosquittoDirectives {
		if key == "include_dir" {
			continue // read by the line loop itself
		}
		// In the section it belongs to, with the features allowed.
		body := "allow_unsupported plugin bridge psk\nlistener 1883\nplugin /p.so\nconnection b\n" + key + " 1\n"
		_, err := Load(write(t, dir, "mosquitto.conf", body))
		if err != nil && strings.Contains(err.Error(), "unknown configuration directive") {
			t.Errorf("%s: %v", key, err)
		}
	}
}

// Mosquitto's aliases do what the names they alias do.
func TestMosquittoAliases(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(write(t, dir, "mosquitto.conf", "maximum_qos 1\nretained_persistence true\nlog_type internal\nlistener 1883\nmaximum_qos 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxQoS != 1 || c.Listeners[0].MaxQoS == nil || *c.Listeners[0].MaxQoS != 0 || !c.Persistence.Enabled {
		t.Fatalf("maximum_qos/retained_persistence: %+v", c)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "mosquitto.conf:3: log_type: midge has no internal log messages") {
		t.Errorf("notes: %v", c.Notes)
	}
	// A bridge's clientid, username and password are bridge options: part
	// of the refused bridge, errors outside one.
	_, err = Load(write(t, dir, "mosquitto.conf", "connection b\nclientid gw\nusername u\npassword p\n"))
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "mosquitto.conf:1: connection: bridges are not supported yet") {
		t.Errorf("bridge aliases: %v", err)
	}
	_, err = Load(write(t, dir, "mosquitto.conf", "clientid gw\n"))
	if err == nil || !strings.Contains(err.Error(), "mosquitto.conf:1: clientid: requires a bridge to be defined first") {
		t.Errorf("clientid outside a bridge: %v", err)
	}
	// 2.1's plugin_load <name> <path> is a plugin; plugin_use belongs to it.
	_, err = Load(write(t, dir, "mosquitto.conf", "plugin_load auth /usr/lib/auth.so\nlistener 1883\nplugin_use auth\n"))
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "mosquitto.conf:1: plugin_load: plugins cannot be loaded into midge, and starting without /usr/lib/auth.so") {
		t.Errorf("plugin_load: %v", err)
	}
	_, err = Load(write(t, dir, "mosquitto.conf", "listener 1883\nplugin_use auth\n"))
	if err == nil || !strings.Contains(err.Error(), "mosquitto.conf:2: plugin_use: requires plugin") {
		t.Errorf("plugin_use alone: %v", err)
	}
}
