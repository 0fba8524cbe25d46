package bus

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// freeLoopbackPort returns a TCP port free on 127.0.0.1 now.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startJetStreamCluster starts n NATS servers with JetStream, clustered over
// loopback routes, and returns their client URLs (comma-separated).
func startJetStreamCluster(t *testing.T, n int) string {
	t.Helper()
	clientPorts := make([]int, n)
	routePorts := make([]int, n)
	for i := range n {
		clientPorts[i], routePorts[i] = freeLoopbackPort(t), freeLoopbackPort(t)
	}
	var routes []*url.URL
	for _, p := range routePorts {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	var urls []string
	var servers []*server.Server
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i),
			Host:       "127.0.0.1",
			Port:       clientPorts[i],
			JetStream:  true,
			StoreDir:   t.TempDir(),
			NoSigs:     true,
			Cluster:    server.ClusterOpts{Name: "thingo-test", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:     routes,
		}
		srv, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
		if !srv.ReadyForConnections(10 * time.Second) {
			t.Fatalf("server %d not ready", i)
		}
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]))
		servers = append(servers, srv)
	}
	// Wait for the JetStream meta leader: the servers must meet first.
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, srv := range servers {
			if srv.JetStreamIsLeader() {
				return strings.Join(urls, ",")
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no JetStream meta leader within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReplicasOnCluster: with Replicas 3 on a three-server JetStream
// cluster, every stream and bucket the bus creates — at Open and later
// (leases, sub-device routes, console sessions) — has three replicas.
func TestReplicasOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server NATS cluster")
	}
	urls := startJetStreamCluster(t, 3)
	ctx := testCtx(t)
	b, err := Open(ctx, Options{URL: urls, Replicas: 3, Node: "node-a"})
	if err != nil {
		t.Fatalf("Open on the cluster: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	lease, err := b.Campaign(ctx, "test", "node-a", time.Second)
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	defer lease.Resign(ctx)
	if _, err := b.OpenSubDeviceNodes(ctx); err != nil {
		t.Fatalf("sub-device nodes: %v", err)
	}
	if _, err := b.ConsoleSessions(ctx, time.Hour); err != nil {
		t.Fatalf("console sessions: %v", err)
	}
	lister := b.JetStream().ListStreams(ctx)
	seen := 0
	for info := range lister.Info() {
		seen++
		if info.Config.Replicas != 3 {
			t.Errorf("stream %s: %d replicas, want 3", info.Config.Name, info.Config.Replicas)
		}
	}
	if err := lister.Err(); err != nil {
		t.Fatal(err)
	}
	if seen < 7 {
		t.Errorf("%d streams, want the offline queue and at least six buckets", seen)
	}
}
