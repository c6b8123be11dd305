//go:build !nocli && !noauth

package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"

	"midge/broker/auth"
)

// runPasswd manages a Mosquitto password file with mosquitto_passwd's flags:
//
//	midge passwd [-H sha512|sha512-pbkdf2|argon2id] [-c | -D] FILE USER
//	midge passwd -b FILE USER PASSWORD
//	midge passwd -U FILE
func runPasswd(args []string) int {
	fs := flag.NewFlagSet("midge passwd", flag.ContinueOnError)
	method := fs.String("H", auth.SHA512PBKDF2, "hash: sha512, sha512-pbkdf2 or argon2id")
	create := fs.Bool("c", false, "create (overwrite) the file")
	del := fs.Bool("D", false, "delete the user")
	batch := fs.Bool("b", false, "take the password from the command line")
	upgrade := fs.Bool("U", false, "hash a file of plain user:password lines in place")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	a := fs.Args()
	fail := func(format string, v ...any) int {
		fmt.Fprintf(os.Stderr, "Error: "+format+"\n", v...)
		return 1
	}
	switch {
	case *upgrade:
		if len(a) != 1 {
			return fail("usage: midge passwd -U FILE")
		}
		return passwdUpgrade(a[0], *method)
	case *batch && len(a) != 3, !*batch && len(a) != 2:
		fmt.Fprintln(os.Stderr, "usage: midge passwd [-H sha512|sha512-pbkdf2|argon2id] [-c | -D] FILE USER\n       midge passwd -b FILE USER PASSWORD\n       midge passwd -U FILE")
		return 2
	}
	file, user := a[0], a[1]
	if strings.ContainsAny(user, ":") {
		return fail("user names cannot contain ':'")
	}
	var lines []string
	if !*create {
		data, err := os.ReadFile(file)
		if err != nil {
			return fail("%v", err)
		}
		lines = strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	}
	kept := lines[:0]
	found := false
	for _, l := range lines {
		if u, _, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(u) == user {
			found = true
			continue
		}
		if l != "" {
			kept = append(kept, l)
		}
	}
	if *del {
		if !found {
			return fail("user %s not in password file", user)
		}
		return writePasswd(file, kept)
	}
	var pass string
	if *batch {
		pass = a[2]
	} else {
		var err error
		if pass, err = readPassword(); err != nil {
			return fail("%v", err)
		}
	}
	h, err := auth.Encode(*method, []byte(pass))
	if err != nil {
		return fail("%v", err)
	}
	return writePasswd(file, append(kept, user+":"+h))
}

func readPassword() (string, error) {
	fmt.Fprint(os.Stderr, "Password: ")
	r := bufio.NewReader(os.Stdin)
	p1, _ := r.ReadString('\n')
	fmt.Fprint(os.Stderr, "Reenter password: ")
	p2, _ := r.ReadString('\n')
	p1, p2 = strings.TrimRight(p1, "\r\n"), strings.TrimRight(p2, "\r\n")
	if p1 != p2 {
		return "", fmt.Errorf("passwords do not match")
	}
	if p1 == "" {
		return "", fmt.Errorf("empty password")
	}
	return p1, nil
}

func passwdUpgrade(file, method string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		u, p, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(l, "#") || strings.HasPrefix(p, "$") {
			out = append(out, l) // comments and already hashed lines stay
			continue
		}
		h, err := auth.Encode(method, []byte(p))
		if err != nil {
			fmt.Fprintf(os.Stderr, "Error: %v\n", err)
			return 1
		}
		out = append(out, u+":"+h)
	}
	return writePasswd(file, out)
}

func writePasswd(file string, lines []string) int {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	if err := os.Rename(tmp, file); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

func init() {
	register("passwd", runPasswd, "manage a password file (mosquitto_passwd flags)")
	features = append(features, "passwd")
}
