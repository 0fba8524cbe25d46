package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/thingo-iot/thingo/internal/apiclient"
	"github.com/thingo-iot/thingo/internal/apikey"
	"github.com/thingo-iot/thingo/internal/app"
)

const adminUsage = `Usage: thingo admin COMMAND [flags]

Local commands (read the data directory):
  credentials --data DIR     print the admin API credential (SecretId and SecretKey)
  ca --data DIR              print the CA certificate (PEM) that certificate devices must trust

API commands (call a running platform; credential from THINGO_ADMIN_SECRET_ID/KEY or --data):
  create-project  --name NAME [--desc TEXT]
  create-product  --project ID --name NAME [--auth key|cert] [--gateway] [--desc TEXT]
  create-device   --product ID --name NAME [--psk BASE64]
  describe-device --product ID --name NAME
  list-devices    --product ID [--offset N] [--limit N]
  publish         --product ID --name NAME --topic TOPIC --payload TEXT [--qos 0|1]
  device-logs     --product ID --name NAME [--offset N] [--limit N]   (logs uploaded to /cgi-bin/report-log, newest first)
  dynreg          --product ID [--type 0|1|2 --limit N]   (show or set dynamic registration; prints the product secret)
  remote-config   --product ID [--device NAME] [--enable|--disable --payload JSON] [--push] [--delete]
                  (show, set, push or delete the product's remote configuration or a device override)
  twecall-pool    --product ID [--pkg-type 0-4 --total N --valid-days N]   (show or set TWecall license pools)
  alert-fence     --product ID --name NAME --type In|Out --fence NAME [--condition InOrOut] [--long X --lat Y] [--time UNIX]
                  (send an alert_fence_event to the device; DescribeDeviceCallResult shows its reply)
  gateway search  --product ID --name NAME [--status 1|0]   (ask an online gateway to start/stop discovering sub-devices)
  ota create|status|devices|pause|resume|cancel ...   (firmware tasks and staged rollouts; "thingo admin ota" lists flags)
  resource upload-url|push|delete|list ...           (files on devices; "thingo admin resource" lists flags)
Common API flags: --api URL (default $THINGO_API_URL or http://127.0.0.1:8080), --data DIR (default ./thingo-data)
`

func admin(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("thingo admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./thingo-data", "data directory")
	apiURL := fs.String("api", firstNonEmpty(getenv("THINGO_API_URL"), "http://127.0.0.1:8080"), "management API URL")

	switch cmd {
	case "credentials":
		if fs.Parse(args) != nil {
			return 2
		}
		c, path, err := apikey.Load(*data)
		if err != nil {
			fmt.Fprintf(stderr, "thingo admin credentials: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "SecretId:  %s\nSecretKey: %s\n(from %s)\n", c.SecretID, c.SecretKey, path)
		return 0
	case "ca":
		if fs.Parse(args) != nil {
			return 2
		}
		pem, err := os.ReadFile(app.CAFile(*data))
		if err != nil {
			fmt.Fprintf(stderr, "thingo admin ca: %v (has `thingo serve --data %s` run once?)\n", err, *data)
			return 1
		}
		_, _ = stdout.Write(pem)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, adminUsage)
		return 0
	}

	var (
		action string
		req    map[string]any
	)
	switch cmd {
	case "create-project":
		name := fs.String("name", "", "project name")
		desc := fs.String("desc", "", "project description")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "CreateProject", map[string]any{"ProjectName": *name, "ProjectDesc": *desc}
	case "create-product":
		project := fs.String("project", "", "project id")
		name := fs.String("name", "", "product name")
		auth := fs.String("auth", "key", "device authentication: key or cert")
		gateway := fs.Bool("gateway", false, "gateway product")
		desc := fs.String("desc", "", "product description")
		if fs.Parse(args) != nil {
			return 2
		}
		enc := map[string]string{"key": "2", "cert": "1"}[*auth]
		if enc == "" {
			fmt.Fprintln(stderr, "thingo admin create-product: --auth must be key or cert")
			return 2
		}
		ptype := 0
		if *gateway {
			ptype = 5
		}
		action, req = "CreateStudioProduct", map[string]any{
			"ProductName": *name, "CategoryId": 1, "ProductType": ptype, "EncryptionType": enc,
			"NetType": "wifi", "DataProtocol": 1, "ProductDesc": *desc, "ProjectId": *project,
		}
	case "create-device":
		product := fs.String("product", "", "product id")
		name := fs.String("name", "", "device name")
		psk := fs.String("psk", "", "device secret to use instead of a random one (base64)")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "CreateDevice", map[string]any{"ProductId": *product, "DeviceName": *name}
		if *psk != "" {
			req["DefinedPsk"] = *psk
		}
	case "describe-device":
		product := fs.String("product", "", "product id")
		name := fs.String("name", "", "device name")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "DescribeDevice", map[string]any{"ProductId": *product, "DeviceName": *name}
	case "list-devices":
		product := fs.String("product", "", "product id")
		offset := fs.Int("offset", 0, "offset")
		limit := fs.Int("limit", 100, "page size (10-100)")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "GetDeviceList", map[string]any{"ProductId": *product, "Offset": *offset, "Limit": *limit}
	case "publish":
		product := fs.String("product", "", "product id")
		name := fs.String("name", "", "device name")
		topic := fs.String("topic", "", "topic the device subscribed to, e.g. $thing/down/property/PID/NAME")
		payload := fs.String("payload", "", "message payload")
		qos := fs.Int("qos", 1, "QoS: 0 or 1")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "PublishMessage", map[string]any{"ProductId": *product, "DeviceName": *name, "Topic": *topic,
			"Payload": *payload, "Qos": *qos}
	case "device-logs":
		product := fs.String("product", "", "product id")
		name := fs.String("name", "", "device name")
		offset := fs.Int("offset", 0, "offset")
		limit := fs.Int("limit", 100, "page size (1-100)")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "DescribeDeviceLogs", map[string]any{"ProductId": *product, "DeviceName": *name, "Offset": *offset, "Limit": *limit}
	case "dynreg":
		product := fs.String("product", "", "product id")
		typ := fs.Int("type", -1, "registration type: 0 off, 1 pre-created devices only, 2 auto-create (omit to show)")
		limit := fs.Int("limit", 0, "devices dynamic registration may create (0: no limit)")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "DescribeProductDynamicRegister", map[string]any{"ProductId": *product}
		if *typ >= 0 {
			action, req = "ModifyProductDynamicRegister", map[string]any{"ProductId": *product, "RegisterType": *typ, "RegisterLimit": *limit}
		}
	case "remote-config":
		product := fs.String("product", "", "product id")
		device := fs.String("device", "", "device name (empty: the product's configuration)")
		enable := fs.Bool("enable", false, "set the configuration, enabled")
		disable := fs.Bool("disable", false, "set the configuration, disabled")
		payload := fs.String("payload", "", "configuration (a JSON object) for --enable/--disable")
		push := fs.Bool("push", false, "push the configuration to the device, or to every online device of the product")
		del := fs.Bool("delete", false, "delete the configuration")
		if fs.Parse(args) != nil {
			return 2
		}
		req = map[string]any{"ProductId": *product, "DeviceName": *device}
		switch {
		case *enable || *disable:
			if *enable && *disable {
				fmt.Fprintln(stderr, "thingo admin remote-config: --enable and --disable exclude each other")
				return 2
			}
			action, req["Enabled"], req["Payload"] = "ModifyRemoteConfig", *enable, firstNonEmpty(*payload, "{}")
		case *push:
			action = "PushRemoteConfig"
		case *del:
			action = "DeleteRemoteConfig"
		default:
			action = "DescribeRemoteConfig"
		}
	case "twecall-pool":
		product := fs.String("product", "", "product id")
		pkgType := fs.Int("pkg-type", -1, "package type 0-4 (omit to show the pools)")
		total := fs.Int64("total", 0, "licenses bought for this package type")
		validDays := fs.Int("valid-days", 365, "days a license lasts from its activation")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "DescribeTWeCallLicensePools", map[string]any{"ProductId": *product}
		if *pkgType >= 0 {
			action, req = "ModifyTWeCallLicensePool", map[string]any{"ProductId": *product, "PkgType": *pkgType,
				"Total": *total, "ValidDays": *validDays}
		}
	case "alert-fence":
		product := fs.String("product", "", "product id")
		name := fs.String("name", "", "device name")
		typ := fs.String("type", "In", "alert type: In or Out")
		fence := fs.String("fence", "", "fence name")
		cond := fs.String("condition", "InOrOut", "alert condition")
		long := fs.Float64("long", 0, "longitude")
		lat := fs.Float64("lat", 0, "latitude")
		at := fs.Int64("time", 0, "alarm time, unix seconds (0: now)")
		if fs.Parse(args) != nil {
			return 2
		}
		action, req = "PublishAlertFenceEvent", map[string]any{"ProductId": *product, "DeviceName": *name,
			"AlertType": *typ, "AlertCondition": *cond, "FenceName": *fence, "Longitude": *long, "Latitude": *lat, "AlarmTime": *at}
	case "gateway":
		if len(args) == 0 || args[0] != "search" {
			fmt.Fprintf(stderr, "thingo admin gateway: want a subcommand: search\n\n%s", adminUsage)
			return 2
		}
		product := fs.String("product", "", "gateway product id")
		name := fs.String("name", "", "gateway device name")
		status := fs.Int("status", 1, "1 starts sub-device discovery, 0 stops it")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		action, req = "SearchGatewaySubDevices", map[string]any{"GatewayProductId": *product,
			"GatewayDeviceName": *name, "Status": *status}
	case "ota", "resource":
		var ok bool
		if action, req, ok = otaCommand(cmd, fs, args, stderr); !ok {
			return 2
		}
	default:
		fmt.Fprintf(stderr, "thingo admin: unknown command %q\n\n%s", cmd, adminUsage)
		return 2
	}

	client, err := newAPIClient(*apiURL, *data, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "thingo admin %s: %v\n", cmd, err)
		return 1
	}
	var resp map[string]any
	if err := client.Call(ctx, action, req, &resp); err != nil {
		fmt.Fprintf(stderr, "thingo admin %s: %v\n", cmd, err)
		return 1
	}
	out, _ := json.MarshalIndent(resp, "", "  ")
	fmt.Fprintf(stdout, "%s\n", out)
	return 0
}

func newAPIClient(url, data string, getenv func(string) string) (*apiclient.Client, error) {
	id, key := getenv("THINGO_ADMIN_SECRET_ID"), getenv("THINGO_ADMIN_SECRET_KEY")
	if id == "" || key == "" {
		c, _, err := apikey.Load(data)
		if err != nil {
			return nil, fmt.Errorf("no credential: set THINGO_ADMIN_SECRET_ID and THINGO_ADMIN_SECRET_KEY or point --data at the server's data directory (%s): %w", filepath.Clean(data), err)
		}
		id, key = c.SecretID, c.SecretKey
	}
	return &apiclient.Client{URL: url, SecretID: id, SecretKey: key}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
