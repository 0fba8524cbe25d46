package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/broker"
	"github.com/thingo-iot/thingo/internal/bus"
	"github.com/thingo-iot/thingo/internal/config"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/rrpc"
)

// Cluster timings.
const (
	// clusterCallTimeout bounds a request to another node.
	clusterCallTimeout = 5 * time.Second
	// clusterServeTimeout bounds the handling of a request from another
	// node; it is shorter than clusterCallTimeout so that the caller gets
	// an answer.
	clusterServeTimeout = 4 * time.Second
	// actionRelaySubject and rrpcRelaySubject carry the device replies a
	// node received with no call waiting for them (see relayCalls).
	actionRelaySubject = "thingo.calls.action"
	rrpcRelaySubject   = "thingo.calls.rrpc"
	// nodeIDFile keeps a node's id in its data directory, so that records
	// naming it (persistent sessions) survive a restart.
	nodeIDFile = "node-id"
)

// cluster connects the broker of this node to the other nodes sharing the
// external NATS: it implements broker.Cluster over bus requests, and serves
// the requests of the other nodes with the local broker.
type cluster struct {
	self     string
	bus      *bus.Bus
	presence *bus.Presence
	homes    *bus.SessionNodes
	subs     *bus.SubDeviceNodes
	log      *slog.Logger
	// relays are closed when the node stops (see relayCalls).
	relays []interface{ Close() error }
}

var _ broker.Cluster = (*cluster)(nil)

func newCluster(ctx context.Context, self string, b *bus.Bus, log *slog.Logger) (*cluster, error) {
	subs, err := b.OpenSubDeviceNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &cluster{self: self, bus: b, presence: b.Presence(), homes: b.SessionNodes(), subs: subs, log: log}, nil
}

// loadOrCreateNodeID returns the node id kept in dataDir, creating it on
// first start: the host name and a random suffix.
func loadOrCreateNodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, nodeIDFile)
	data, err := os.ReadFile(path)
	if err == nil {
		if id := strings.TrimSpace(string(data)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("node id: %w", err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	id := host + "-" + hex.EncodeToString(suffix[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// Self implements broker.Cluster.
func (c *cluster) Self() string { return c.self }

// Locate implements broker.Cluster with the presence bucket (the node
// holding the connection), the sub-device-nodes bucket (for a sub-device
// not connected itself: the node of the gateway it is online through) and
// the session-nodes bucket.
func (c *cluster) Locate(ctx context.Context, productID, deviceName string) (online, session string, err error) {
	r, err := c.presence.Get(ctx, productID, deviceName)
	switch {
	case err == nil:
		online = r.Node
	case !errors.Is(err, bus.ErrNotFound):
		return "", "", fmt.Errorf("cluster: locate: %w", err)
	default:
		sub, err := c.subs.Get(ctx, productID, deviceName)
		switch {
		case err == nil:
			online = sub.Node
		case !errors.Is(err, bus.ErrNotFound):
			return "", "", fmt.Errorf("cluster: locate: %w", err)
		}
	}
	session, err = c.homes.Get(ctx, productID+deviceName)
	if err != nil && !errors.Is(err, bus.ErrNotFound) {
		return online, "", fmt.Errorf("cluster: locate: %w", err)
	}
	return online, session, nil
}

// Call implements broker.Cluster.
func (c *cluster) Call(ctx context.Context, node string, call broker.RemoteCall) (broker.RemoteResult, error) {
	req, err := json.Marshal(call)
	if err != nil {
		return broker.RemoteResult{}, fmt.Errorf("cluster: encode %s: %w", call.Op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, clusterCallTimeout)
	defer cancel()
	data, err := c.bus.Request(ctx, node, req)
	if errors.Is(err, bus.ErrNoNode) {
		// The node is gone; its records are stale.
		c.log.Warn("cluster: node not reachable", "node", node, "op", call.Op,
			"product", call.ProductID, "device", call.DeviceName)
		return broker.RemoteResult{Error: broker.KindOffline, Message: err.Error()}, nil
	}
	if err != nil {
		return broker.RemoteResult{}, fmt.Errorf("cluster: %w", err)
	}
	var res broker.RemoteResult
	if err := json.Unmarshal(data, &res); err != nil {
		return broker.RemoteResult{}, fmt.Errorf("cluster: decode answer of %s: %w", node, err)
	}
	return res, nil
}

// KeepSession implements broker.Cluster.
func (c *cluster) KeepSession(ctx context.Context, clientID string, keep bool) error {
	if keep {
		return c.homes.Put(ctx, clientID, c.self)
	}
	return c.homes.Delete(ctx, clientID, c.self)
}

func (c *cluster) handle(ctx context.Context, b *broker.Broker, req []byte) []byte {
	var call broker.RemoteCall
	var res broker.RemoteResult
	if err := json.Unmarshal(req, &call); err != nil {
		res = broker.RemoteResult{Error: broker.KindInternal, Message: "bad request: " + err.Error()}
	} else {
		res = b.ServeRemote(ctx, call)
		if call.Op == broker.OpTakeover && res.Error == "" {
			c.awaitOffline(ctx, call.ProductID, call.DeviceName)
		}
	}
	out, err := json.Marshal(res)
	if err != nil {
		// A RemoteResult of strings always encodes.
		c.log.Error("cluster: encode answer", "err", err)
	}
	return out
}

// awaitOffline waits until this node's presence record of the device is
// gone: the offline report of a connection taken over by another node has
// been applied (registry, then presence bucket), so the new node's online
// report, made after this answer, comes last.
func (c *cluster) awaitOffline(ctx context.Context, productID, deviceName string) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := c.presence.Get(ctx, productID, deviceName)
		if errors.Is(err, bus.ErrNotFound) || (err == nil && r.Node != c.self) {
			return
		}
		select {
		case <-ctx.Done():
			c.log.Warn("cluster: takeover answered before the offline report was applied",
				"product", productID, "device", deviceName)
			return
		case <-tick.C:
		}
	}
}

// clusterNodeID is this node's id when it shares an external NATS with
// other nodes, "" on a single node.
func clusterNodeID(cfg config.Config) (string, error) {
	if cfg.NATSURL == "" {
		return "", nil
	}
	return loadOrCreateNodeID(cfg.DataDir)
}

// brokerCluster is the broker's Cluster dependency: nil on a single node.
func (a *App) brokerCluster() broker.Cluster {
	if a.cluster == nil {
		return nil
	}
	return a.cluster
}

// run serves the requests of the other nodes with b until ctx ends.
func (c *cluster) run(ctx context.Context, b *broker.Broker) error {
	srv, err := c.bus.ServeNode(c.self, clusterServeTimeout, func(ctx context.Context, req []byte) []byte {
		return c.handle(ctx, b, req)
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.log.Info("cluster node serving")
	<-ctx.Done()
	if err := srv.Stop(); err != nil {
		c.log.Warn("cluster: stop", "err", err)
	}
	c.closeRelays()
	return nil
}

// relayCalls lets a synchronous call made on this node (CallDeviceActionSync,
// RRPC) get the device's reply when the device is connected to another node:
// a node receiving a reply no local call waits for publishes it on a core
// NATS subject every node subscribes to, and the node with the call takes
// it. The action reply is recorded by the node that received it only.
func (c *cluster) relayCalls(things *devicedata.Service, calls *rrpc.Service) error {
	actions, err := bus.OpenRelay(c.bus, actionRelaySubject, func(ctx context.Context, r devicedata.RelayedActionReply) {
		things.HandleRelayed(ctx, r)
	})
	if err != nil {
		return fmt.Errorf("cluster: action reply relay: %w", err)
	}
	c.relays = append(c.relays, actions)
	replies, err := bus.OpenRelay(c.bus, rrpcRelaySubject, func(_ context.Context, r rrpc.RelayedReply) {
		calls.HandleRelayed(r)
	})
	if err != nil {
		c.closeRelays()
		return fmt.Errorf("cluster: rrpc reply relay: %w", err)
	}
	c.relays = append(c.relays, replies)
	things.SetRelay(actions)
	calls.SetRelay(replies, c.log)
	calls.UseNodeTag(rrpc.NodeTag(c.self))
	return nil
}

// closeRelays closes the relays opened by relayCalls.
func (c *cluster) closeRelays() {
	for _, r := range c.relays {
		if err := r.Close(); err != nil {
			c.log.Warn("cluster: close relay", "err", err)
		}
	}
	c.relays = nil
}
