package config

import (
	"fmt"
	"time"
)

// Limits: global unless a listener is being configured (max_qos,
// max_topic_alias). Mosquitto's "0 or -1 = unlimited" becomes midge's
// finite default, with a note.

func globalMaxConnections(im *importer, d *line) error {
	n, err := parseInt(d.args)
	if err == nil && n > 0 {
		im.c.MaxConnections, im.globalMax = n, true
	} else if err == nil {
		im.note(d.where, d.key, fmt.Sprintf("%d (unlimited) replaced by midge's default %d", n, im.c.MaxConnections))
	}
	return err
}

func maxKeepalive(im *importer, d *line) error {
	var err error
	im.c.MaxKeepalive, err = parseInt(d.args)
	return err
}

func maxPacketSize(im *importer, d *line) error {
	c := im.c
	n, err := parseInt(d.args)
	if err != nil {
		return err
	}
	if n <= 0 {
		im.note(d.where, d.key, fmt.Sprintf("%d (unlimited) replaced by midge's default %d", n, c.MaxPacketSize))
		return nil
	}
	c.MaxPacketSize = n
	if c.MaxConnectPacketSize > n {
		c.MaxConnectPacketSize = n
	}
	return nil
}

func maxInflightMessages(im *importer, d *line) error {
	n, err := parseInt(d.args)
	if err != nil {
		return err
	}
	if n <= 0 {
		im.note(d.where, d.key, fmt.Sprintf("%d (unlimited) replaced by 65535", n))
		n = 65535
	}
	im.c.MaxInflightMessages = n
	return nil
}

func maxQueuedMessages(im *importer, d *line) error {
	n, err := parseInt(d.args)
	if err != nil {
		return err
	}
	if n <= 0 {
		im.note(d.where, d.key, fmt.Sprintf("%d (unlimited) replaced by midge's default %d", n, im.c.MaxQueuedMessages))
	} else {
		im.c.MaxQueuedMessages = n
	}
	return nil
}

// byteLimit sets message_size_limit, max_inflight_bytes, max_queued_bytes
// or memory_limit.
func byteLimit(im *importer, d *line) error {
	n, err := parseInt(d.args)
	if err != nil {
		return err
	}
	c := im.c
	dst := &c.MessageSizeLimit
	switch d.key {
	case "max_inflight_bytes":
		dst = &c.MaxInflightBytes
	case "max_queued_bytes":
		dst = &c.MaxQueuedBytes
	case "memory_limit":
		dst = &c.MemoryLimit
	}
	if n <= 0 {
		im.note(d.where, d.key, fmt.Sprintf("%d (unlimited) replaced by midge's default %d", n, *dst))
	} else {
		*dst = n
	}
	return nil
}

// qosOrAlias sets max_qos (maximum_qos) or max_topic_alias: the listener's after
// `listener` (or `port`), the global value before.
func qosOrAlias(im *importer, d *line) error {
	n, err := parseInt(d.args)
	if err != nil {
		return err
	}
	c := im.c
	qos := d.key != "max_topic_alias" // max_qos or its alias maximum_qos
	if im.listener != nil || im.useDefault {
		l := im.current()
		if qos {
			l.MaxQoS = &n
		} else {
			l.MaxTopicAlias = &n
		}
	} else if qos {
		c.MaxQoS = n
	} else {
		c.MaxTopicAlias = n
	}
	return nil
}

func queueQoS0Messages(im *importer, d *line) error {
	var err error
	im.c.QueueQoS0Messages, err = parseBool(d.args)
	return err
}

func upgradeOutgoingQoS(im *importer, d *line) error {
	var err error
	im.c.UpgradeOutgoingQoS, err = parseBool(d.args)
	return err
}

func retainAvailable(im *importer, d *line) error {
	var err error
	im.c.RetainAvailable, err = parseBool(d.args)
	return err
}

func sysInterval(im *importer, d *line) error {
	n, err := parseInt(d.args)
	if err == nil {
		im.c.SysInterval = Duration(time.Duration(n) * time.Second)
	}
	return err
}

func setTCPNoDelay(im *importer, d *line) error {
	_, err := parseBool(d.args) // midge always sets TCP_NODELAY
	return err
}

// Persistence: Mosquitto's snapshot options mapped onto midge's log store.

func persistence(im *importer, d *line) error {
	var err error
	im.c.Persistence.Enabled, err = parseBool(d.args)
	return err
}

func persistenceLocation(im *importer, d *line) error {
	im.c.Persistence.Dir = d.rest
	return nil
}

func autosaveInterval(im *importer, d *line) error {
	n, err := parseInt(d.args)
	if err != nil {
		return err
	}
	p := &im.c.Persistence
	if n <= 0 {
		p.Sync = "never"
		im.note(d.where, d.key, "0: mapped to sync = never (midge still writes every acknowledged message to the kernel before acknowledging it)")
	} else {
		p.Sync, p.SyncInterval = "interval", Duration(time.Duration(n)*time.Second)
		im.note(d.where, d.key, fmt.Sprintf("mapped to sync = interval, sync_interval = %ds: midge writes every change as it happens and fsyncs at most that often", n))
	}
	return nil
}

func autosaveOnChanges(im *importer, d *line) error {
	on, err := parseBool(d.args)
	if err == nil && on {
		im.note(d.where, d.key, "midge writes every change as it happens; the fsync policy is sync/sync_interval (autosave_interval)")
	}
	return err
}

func persistentClientExpiration(im *importer, d *line) error {
	v, err := parseMosquittoDuration(d.rest)
	if err == nil {
		im.c.PersistentClientExpiration = Duration(v)
	}
	return err
}

// Logging and the process.

func logDest(im *importer, d *line) error {
	if len(d.args) < 1 {
		return fmt.Errorf("missing destination")
	}
	switch d.args[0] {
	case "stderr", "stdout", "none", "syslog":
		im.logDests = append(im.logDests, d.args[0])
	case "topic", "file", "dlt", "android":
		im.note(d.where, d.key, d.args[0]+" is not supported yet; logging to stderr")
	default:
		return fmt.Errorf("unknown destination %q", d.args[0])
	}
	return nil
}

func logType(im *importer, d *line) error {
	if len(d.args) != 1 {
		return fmt.Errorf("expected one log type")
	}
	if d.args[0] == "internal" { // Mosquitto 2.1: its own debugging
		im.note(d.where, d.key, "midge has no internal log messages; ignored")
		return nil
	}
	if !logTypes[d.args[0]] {
		return fmt.Errorf("unknown log type %q", d.args[0])
	}
	im.logTypes = append(im.logTypes, d.args[0])
	return nil
}

func pidFile(im *importer, d *line) error {
	im.c.PIDFile = d.rest
	return nil
}
