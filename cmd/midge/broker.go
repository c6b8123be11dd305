package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"

	boardconfigs "midge/board-configs"
	"midge/broker"
	"midge/broker/config"
	"midge/hw"
)

// features lists the optional subsystems compiled into this binary.
var features []string

func runVersion(args []string) int {
	fmt.Printf("midge %s %s/%s %s\n", broker.Version, runtime.GOOS, runtime.GOARCH, runtime.Version())
	all := append([]string{"mqtt", "tcp"}, features...)
	if broker.Persistence {
		all = append(all, "persistence")
	}
	if config.TOMLSupported {
		all = append(all, "toml")
	}
	if broker.AuthCompiled {
		all = append(all, "auth-files")
	}
	if broker.WebSocketCompiled {
		all = append(all, "websockets")
	}
	if broker.TLSCompiled {
		all = append(all, "tls")
	}
	if hw.GPIOCompiled {
		all = append(all, "gpio-leds")
	}
	sort.Strings(all[2:])
	f := strings.Join(all, " ")
	fmt.Printf("features: %s\n", f)
	return 0
}

func runBroker(args []string) int {
	fs := flag.NewFlagSet("midge", flag.ContinueOnError)
	cfgPath := fs.String("c", "", "configuration file (midge TOML or mosquitto.conf)")
	port := fs.Int("p", 0, "listen on this port on 127.0.0.1 when the configuration defines no listener (local only mode)")
	verbose := fs.Bool("v", false, "log everything")
	testConfig := fs.Bool("test-config", false, "check the configuration and exit")
	board := fs.String("board", "", "apply a board's settings under the configuration ("+strings.Join(boardconfigs.Names(), ", ")+", or a file)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: midge [-c FILE] [-p PORT] [-v] [--test-config]\n       midge pub|sub|convert|version|help ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "midge: unknown command %q (try: midge help)\n", fs.Arg(0))
		return 2
	}
	cfg, err := config.LoadWithBoard(*cfgPath, *board)
	if err != nil {
		fmt.Fprintf(os.Stderr, "midge: configuration error:\n%v\n", err)
		return 3
	}
	commandLinePort(cfg, *port)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "midge: configuration error:\n%v\n", err)
		return 3
	}
	if *testConfig {
		for _, n := range cfg.Notes {
			fmt.Fprintln(os.Stderr, n)
		}
		warnings, errs := checkPasswordFiles(cfg)
		for _, w := range warnings {
			fmt.Fprintln(os.Stderr, w)
		}
		if len(errs) > 0 {
			fmt.Fprintf(os.Stderr, "midge: configuration error:\n%s\n", strings.Join(errs, "\n"))
			return 3
		}
		src := cfg.Source
		if src == "" {
			src = "embedded default"
		}
		if cfg.Board != "" {
			src += " on board " + cfg.Board
		}
		fmt.Printf("%s: configuration OK\n", src)
		return 0
	}
	if cfg.GoMemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(cfg.GoMemoryLimit))
	}
	if os.Getenv("GOGC") == "" {
		// Memory is scarcer than CPU on the boards midge runs on: collect
		// when the heap grows by half rather than doubles.
		debug.SetGCPercent(50)
	}
	log := broker.NewLogger(cfg.Log.Dest, cfg.Log.Types)
	if *verbose {
		log.Verbose()
	}
	log.Noticef("midge %s starting", broker.Version)
	if cfg.Board != "" {
		log.Noticef("Board settings: %s.", cfg.Board)
	}
	if cfg.Source != "" {
		log.Noticef("Config loaded from %s.", cfg.Source)
	} else {
		log.Noticef("Using the embedded default config: local only mode on 127.0.0.1:1883.")
	}
	for _, n := range cfg.Notes {
		log.Warnf("%s", n)
	}
	b, err := broker.New(cfg, log)
	if err != nil {
		log.Errorf("%v", err)
		return 1
	}
	if cfg.PIDFile != "" {
		// Written once the listeners are open, for init scripts that wait on it.
		if err := os.WriteFile(cfg.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Errorf("pid_file: %v", err)
			b.Close()
			return 1
		}
		defer os.Remove(cfg.PIDFile)
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for s := range sig {
			switch s {
			case syscall.SIGHUP:
				if *cfgPath == "" {
					log.Noticef("SIGHUP: running on the embedded default; nothing to reload")
					continue
				}
				next, err := config.LoadWithBoard(*cfgPath, *board)
				if err != nil {
					log.Errorf("reload refused, keeping the running configuration:\n%v", err)
					continue
				}
				commandLinePort(next, *port)
				b.Reload(next)
			case syscall.SIGUSR1:
				b.Do(b.Compact)
			case syscall.SIGUSR2:
				b.Do(b.LogSubscriptions)
			default:
				log.Noticef("Signal %v received, shutting down.", s)
				b.Close()
				return
			}
		}
	}()
	if err := b.Serve(); err != nil {
		log.Errorf("%v", err)
		return 1
	}
	return 0
}

// commandLinePort applies -p as Mosquitto does: it moves the local only
// mode listener (no listener configured) to that port, and leaves the
// listeners a configuration defines as they are, with a note.
func commandLinePort(cfg *config.Config, port int) {
	switch {
	case port == 0:
	case cfg.LocalOnly:
		for i := range cfg.Listeners {
			cfg.Listeners[i].Port = port
		}
	default:
		cfg.Notes = append(cfg.Notes, "-p "+strconv.Itoa(port)+": ignored, as in Mosquitto: the configuration defines its listeners, which keep their ports")
	}
}
