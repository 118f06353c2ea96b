// SPDX-License-Identifier: GPL-2.0-or-later

// "vcsim serve": the simulated vCenter.
//
// The state directory is the whole interface with the shell tests:
//
//	cert.pem     the server certificate, usable as the CA file
//	key.pem      its key (mode 0600), kept for -reuse-cert
//	fingerprint  SHA-256 of the certificate, AA:BB:... as openssl prints it
//	pid          this process
//	url          https://127.0.0.1:PORT/sdk, written last and atomically:
//	             its appearance means "ready", and it is removed on exit
//
// The simulator's datastore directories are created inside the state
// directory too, so that a killed simulator leaves nothing in /tmp.

package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

type serveOptions struct {
	dir         string
	user        string
	password    string
	port        int
	dc          int
	hosts       int
	clusters    int
	clHosts     int
	vms         int
	idle        float64
	cloneDelay  int
	hideEnd     string
	strict      bool
	trace       bool
	reuseCert   bool
	dropAnswer  string
	fixtures    bool
	apiVersion  string
	pageObjects int
	announce    bool
}

func parseServeFlags(args []string) (*serveOptions, error) {
	o := new(serveOptions)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "", "state directory (required)")
	fs.StringVar(&o.user, "user", "", "the only user name accepted (default: any non-empty one)")
	fs.StringVar(&o.password, "password", "", "the only password accepted, with -user")
	fs.IntVar(&o.port, "port", 0, "TCP port on 127.0.0.1 (default: a free one)")
	fs.IntVar(&o.dc, "dc", 1, "datacenters")
	fs.IntVar(&o.hosts, "hosts", 1, "standalone hosts per datacenter")
	fs.IntVar(&o.clusters, "clusters", 1, "clusters per datacenter")
	fs.IntVar(&o.clHosts, "cluster-hosts", 3, "hosts per cluster")
	fs.IntVar(&o.vms, "vms", 2, "VMs per resource pool (each standalone host and each cluster has one)")
	fs.Float64Var(&o.idle, "idle", 0, "session idle timeout in seconds (0: sessions never expire)")
	fs.IntVar(&o.cloneDelay, "clone-delay", 0, "milliseconds a CloneVM_Task stays queued, then running (0: synchronous); implies -strict-clone")
	fs.StringVar(&o.hideEnd, "hide-clone-end", "", "with -clone-delay: a clone to this name ends without telling WaitForUpdatesEx, as vcsim's own race sometimes does (the task's info still shows the end)")
	fs.BoolVar(&o.strict, "strict-clone", false, "vCenter-like clone checks (DuplicateName, bad folder) even without -clone-delay")
	fs.BoolVar(&o.trace, "trace", false, "log SOAP requests and responses to stderr")
	fs.BoolVar(&o.reuseCert, "reuse-cert", false, "reuse DIR/cert.pem and DIR/key.pem if present")
	fs.StringVar(&o.dropAnswer, "drop-answer", "", "run the first call of this method (e.g. PowerOffVM_Task), then close the connection unanswered")
	fs.BoolVar(&o.fixtures, "fixtures", false, "rename DC0_H0's VMs to the vmt-fx-* disk layouts of fixtures.go (needs -vms 8), and one vApp per cluster whose VMs have no parent, as in vCenter")
	fs.StringVar(&o.apiVersion, "api-version", "", "the about.apiVersion (and version) to report, e.g. 6.7 (default: vcsim's 6.5)")
	fs.BoolVar(&o.announce, "announce-reconfigs", false, "send the property updates vCenter sends for a reconfiguration (vCPUs, memory, configSpec.name), which vcsim 0.24 does not: for tests of watching the inventory")
	fs.IntVar(&o.pageObjects, "page-objects", 0, "RetrievePropertiesEx answers at most N objects (or options.maxObjects, if smaller) and a token for ContinueRetrievePropertiesEx (0: vcsim's behaviour, all at once)")
	fs.Var(serveMethodDelays, "method-delay", "NAME=MS: sleep MS milliseconds before SOAP method NAME runs (repeatable)")

	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if o.dir == "" {
		return nil, usageError("-dir is required")
	}
	if (o.user == "") != (o.password == "") {
		return nil, usageError("-user and -password go together")
	}
	for _, n := range []int{o.port, o.dc, o.hosts, o.clusters, o.clHosts, o.vms, o.cloneDelay, o.pageObjects} {
		if n < 0 {
			return nil, usageError("counts, delays and the port must not be negative")
		}
	}
	if o.idle < 0 {
		return nil, usageError("-idle must not be negative")
	}
	if o.hideEnd != "" && o.cloneDelay == 0 {
		return nil, usageError("-hide-clone-end needs -clone-delay")
	}
	return o, nil
}

func cmdServe(args []string) error {
	o, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	if o.dir, err = filepath.Abs(o.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0755); err != nil {
		return err
	}
	// A url file left by a killed run must not pass for readiness.
	urlPath := filepath.Join(o.dir, "url")
	if err := os.Remove(urlPath); err != nil && !os.IsNotExist(err) {
		return err
	}

	cert, err := loadOrCreateCertificate(o.dir, o.reuseCert)
	if err != nil {
		return err
	}

	// Model.Create puts datastore directories under os.TempDir().
	if err := os.Setenv("TMPDIR", o.dir); err != nil {
		return err
	}
	simulator.SessionIdleTimeout = time.Duration(o.idle * float64(time.Second))
	simulator.Trace = o.trace

	model := simulator.VPX()
	model.Datacenter = o.dc
	model.Host = o.hosts
	model.Cluster = o.clusters
	model.ClusterHost = o.clHosts
	model.Machine = o.vms
	model.DelayConfig.MethodDelay = serveMethodDelays
	if o.fixtures {
		model.App = 1
	}
	if o.apiVersion != "" {
		model.ServiceContent.About.ApiVersion = o.apiVersion
		model.ServiceContent.About.Version = o.apiVersion + ".0"
	}
	if err := model.Create(); err != nil {
		return fmt.Errorf("creating inventory: %w", err)
	}
	defer model.Remove()
	if o.fixtures {
		if err := installFixtures(); err != nil {
			return err
		}
	}

	installCollector(model, o.pageObjects, o.announce)

	if o.cloneDelay > 0 || o.strict {
		hideCloneEnd = o.hideEnd
		n := wrapAllVMs(time.Duration(o.cloneDelay) * time.Millisecond)
		log.Printf("strict CloneVM_Task, %d ms queued and %d ms running, on %d VMs", o.cloneDelay, o.cloneDelay, n)
	}

	// Without an explicit loopback address vcsim advertises the first
	// non-loopback interface; with a user set, vcsim accepts only it.
	listen := &url.URL{Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.port))}
	if o.user != "" {
		listen.User = url.UserPassword(o.user, o.password)
	}
	model.Service.Listen = listen
	model.Service.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}

	server, err := newServer(model.Service)
	if err != nil {
		return err
	}
	// Inside -drop-answer's wrapper, which needs the connection itself.
	server.Config.Handler = countingHandler{next: server.Config.Handler}
	if o.dropAnswer != "" {
		// Nobody knows our address before publish(): no request is served yet.
		server.Config.Handler = &dropAnswer{next: server.Config.Handler, method: []byte(o.dropAnswer)}
	}

	// Subscribe before announcing readiness, so that a test which stops
	// us right after seeing DIR/url gets a clean shutdown.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	sdkURL := fmt.Sprintf("https://%s/sdk", server.URL.Host)
	if err := publish(o.dir, cert, sdkURL); err != nil {
		shutdown(server)
		return err
	}
	log.Printf("serving %s (pid %d)", sdkURL, os.Getpid())

	sig := <-sigs
	log.Printf("received %v, shutting down", sig)
	os.Remove(urlPath)
	os.Remove(filepath.Join(o.dir, "pid"))
	shutdown(server)
	return nil
}

// newServer starts the HTTPS server.  vcsim panics when it cannot listen
// (e.g. -port already in use); turn that into an ordinary error.
func newServer(svc *simulator.Service) (server *simulator.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting server: %v", r)
		}
	}()
	return svc.NewServer(), nil
}

func publish(dir string, cert tls.Certificate, sdkURL string) error {
	files := []struct {
		name, content string
	}{
		{"fingerprint", fingerprintSHA256(cert.Certificate[0]) + "\n"},
		{"pid", strconv.Itoa(os.Getpid()) + "\n"},
		{"url", sdkURL + "\n"}, // last: the readiness signal
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), []byte(f.content), 0644); err != nil {
			return err
		}
	}
	return nil
}

// shutdown stops accepting, drops the connections and waits a little for
// the handlers.  Not for long: vcsim's WaitForUpdatesEx without
// maxWaitSeconds ignores its request's cancellation and never returns.
func shutdown(server *simulator.Server) {
	server.Listener.Close()
	server.CloseClientConnections()

	done := make(chan struct{})
	go func() {
		server.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		log.Print("some requests still running (WaitForUpdatesEx?), exiting anyway")
	}
}

func usageError(msg string) error {
	return &exitError{code: exitUsage, err: errors.New(msg)}
}

// parseFlags makes "-h" a success and a bad flag a usage error; the flag
// package has already printed the details.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	return nil
}
