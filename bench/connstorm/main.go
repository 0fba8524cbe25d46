// Command connstorm measures how fast a running Thingo node accepts key
// devices and what they cost in memory. It creates a project, a product and
// N devices through the management API, connects them all with paho over TCP
// (HMAC-SHA256 signatures, bounded concurrency), holds them, and prints
// connects/s and, given the server's pid, its RSS before and after.
//
//	go run ./bench/connstorm --api http://127.0.0.1:8080 --mqtt 127.0.0.1:1883 \
//	    --data ./thingo-data --devices 1000 --pid $(pgrep -f 'thingo serve')
//
// It only talks to the addresses it is given; use loopback.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/apikey"
	"github.com/thingo-iot/thingo/protocol"
)

func main() {
	apiURL := flag.String("api", "http://127.0.0.1:8080", "management API URL")
	broker := flag.String("mqtt", "127.0.0.1:1883", "MQTT TCP address")
	data := flag.String("data", "./thingo-data", "server data directory (for the admin credential)")
	n := flag.Int("devices", 1000, "devices to connect (at most 20000)")
	conc := flag.Int("concurrency", 50, "connects in flight")
	hold := flag.Duration("hold", 10*time.Second, "how long to hold the connections before measuring RSS")
	pid := flag.Int("pid", 0, "server pid, to report its RSS")
	flag.Parse()
	if *n < 1 || *n > 20000 || *conc < 1 {
		fmt.Fprintln(os.Stderr, "connstorm: --devices must be 1..20000, --concurrency >= 1")
		os.Exit(2)
	}
	if err := run(*apiURL, *broker, *data, *n, *conc, *hold, *pid); err != nil {
		fmt.Fprintln(os.Stderr, "connstorm:", err)
		os.Exit(1)
	}
}

func run(apiURL, broker, data string, n, conc int, hold time.Duration, pid int) error {
	ctx := context.Background()
	cred, _, err := apikey.Load(data)
	if err != nil {
		return err
	}
	api := &apiclient.Client{URL: apiURL, SecretID: cred.SecretID, SecretKey: cred.SecretKey}
	var pr struct{ Project struct{ ProjectId string } }
	if err := api.Call(ctx, "CreateProject", map[string]any{"ProjectName": "connstorm", "ProjectDesc": "load"}, &pr); err != nil {
		return err
	}
	var prod struct{ Product struct{ ProductId string } }
	if err := api.Call(ctx, "CreateStudioProduct", map[string]any{
		"ProductName": fmt.Sprintf("storm%d", time.Now().Unix()), "CategoryId": 1, "ProductType": 0,
		"EncryptionType": "2", "NetType": "wifi", "DataProtocol": 1, "ProductDesc": "load",
		"ProjectId": pr.Project.ProjectId,
	}, &prod); err != nil {
		return err
	}
	pidStr := prod.Product.ProductId
	type dev struct{ name, psk string }
	devs := make([]dev, n)
	t0 := time.Now()
	for i := range devs {
		var resp struct{ Data struct{ DevicePsk string } }
		name := fmt.Sprintf("d%06d", i)
		if err := api.Call(ctx, "CreateDevice", map[string]any{"ProductId": pidStr, "DeviceName": name}, &resp); err != nil {
			return err
		}
		devs[i] = dev{name, resp.Data.DevicePsk}
	}
	fmt.Printf("created %d devices in %v (%.0f/s)\n", n, time.Since(t0).Round(time.Millisecond), float64(n)/time.Since(t0).Seconds())
	rssBefore := rss(pid)

	clients := make([]mqtt.Client, n)
	var failed atomic.Int64
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	t1 := time.Now()
	for i, d := range devs {
		clientID, user, pass, err := protocol.DeviceCredentials(pidStr, d.name, d.psk, "hmacsha256", time.Time{})
		if err != nil {
			return err
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o := mqtt.NewClientOptions().AddBroker("tcp://" + broker).SetClientID(clientID).
				SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetKeepAlive(240 * time.Second).
				SetConnectTimeout(30 * time.Second)
			c := mqtt.NewClient(o)
			if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				failed.Add(1)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	el := time.Since(t1)
	ok := int64(n) - failed.Load()
	fmt.Printf("connected %d/%d devices in %v: %.0f connects/s (concurrency %d)\n", ok, n, el.Round(time.Millisecond), float64(ok)/el.Seconds(), conc)
	time.Sleep(hold)
	rssAfter := rss(pid)
	if pid > 0 {
		fmt.Printf("server RSS: %.1f MiB before, %.1f MiB with %d connected: %.1f KiB per device\n",
			float64(rssBefore)/1024, float64(rssAfter)/1024, ok, float64(rssAfter-rssBefore)/float64(max(ok, 1)))
	}
	for _, c := range clients {
		if c != nil {
			c.Disconnect(0)
		}
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d connects failed", failed.Load())
	}
	return nil
}

// rss returns the resident set of pid in KiB (0 when unknown).
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}
