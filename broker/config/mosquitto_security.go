package config

import "fmt"

// Security directives: who may connect and what clients may do. With
// per_listener_settings true they belong to the current listener, as in
// Mosquitto; otherwise they are global.

func perListenerSettings(im *importer, d *line) error {
	var err error
	if im.perLn, err = parseBool(d.args); err == nil && im.perLn && im.secSeen != "" {
		return fmt.Errorf("must be set before any other security option (%s)", im.secSeen)
	}
	return err
}

// securityOption sets password_file, acl_file, auto_id_prefix,
// allow_anonymous or allow_zero_length_clientid: the current listener's own
// under per_listener_settings, the global one otherwise.
func securityOption(im *importer, d *line) error {
	if im.secSeen == "" {
		im.secSeen = d.where + " " + d.key
	}
	c, l := im.c, im.current()
	var gs, ls = &c.PasswordFile, &l.PasswordFile
	var gb, lb = &c.AllowAnonymous, &l.AllowAnonymous
	switch d.key {
	case "acl_file":
		gs, ls = &c.ACLFile, &l.ACLFile
	case "auto_id_prefix":
		gs, ls = &c.AutoIDPrefix, &l.AutoIDPrefix
	case "allow_zero_length_clientid":
		gb, lb = &c.AllowZeroLengthClientID, &l.AllowZeroLengthClientID
	}
	switch d.key {
	case "password_file", "acl_file", "auto_id_prefix":
		rest := d.rest
		if im.perLn {
			*ls = &rest
		} else {
			*gs = rest
		}
		return nil
	}
	v, err := parseBool(d.args)
	switch {
	case err != nil:
		return err
	case im.perLn:
		*lb = &v
	default:
		*gb = v
		im.anonSet = im.anonSet || d.key == "allow_anonymous"
	}
	return nil
}

// listenerAllowAnonymous is Mosquitto 2.1's per-listener allow_anonymous,
// whatever per_listener_settings says.
func listenerAllowAnonymous(im *importer, d *line) error {
	v, err := parseBool(d.args)
	if err == nil {
		im.current().AllowAnonymous = &v
	}
	return err
}

func listenerAutoIDPrefix(im *importer, d *line) error {
	v := d.rest
	im.current().AutoIDPrefix = &v
	return nil
}
