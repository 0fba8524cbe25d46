package sdk_test

import (
	"context"
	"log"
	"time"

	"github.com/thingo-iot/thingo/sdk"
)

// A gateway binds a sub-device, brings it online and reports for it over
// its own connection.
func ExampleGateway() {
	ctx := context.Background()
	c, err := sdk.New(sdk.Config{ProductID: "GWPRODUCT1", DeviceName: "gw1",
		DeviceSecret: "MDEyMzQ1Njc4OWFiY2RlZg==", Broker: "tcp://localhost:1883"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	g := c.Gateway() // before Connect: change pushes are received from the start
	g.OnChange(func(_ context.Context, ch sdk.GatewayChange) { log.Printf("bound=%v %v", ch.Bound, ch.Devices) })
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	err = g.BindSubDevices(ctx, sdk.SubDeviceCredentials{ProductID: "SUBPRODUC1", DeviceName: "lamp1",
		DeviceSecret: "c3ViLWRldmljZS1zZWNyZXQ="})
	if err != nil {
		log.Print(err) // e.g. *sdk.GatewayResultError 809: already bound
	}
	lamp := g.SubDevice("SUBPRODUC1", "lamp1")
	lamp.OnControl(func(_ context.Context, params map[string]any) (int, string) { return sdk.CodeOK, "ok" })
	if err := lamp.Online(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := lamp.ReportProperties(ctx, map[string]any{"brightness": 50}); err != nil {
		log.Print(err)
	}
}

// A key device authenticates with TLS-PSK on the TLS port, as the C SDK
// does in "TLS + key" mode.
func ExampleConfig_tlsPSK() {
	c, err := sdk.New(sdk.Config{ProductID: "AB12CD34EF", DeviceName: "dev001",
		DeviceSecret: "MDEyMzQ1Njc4OWFiY2RlZg==", Broker: "ssl://localhost:8883", TLSPSK: true})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// Several events in one events_post message.
func ExampleClient_PostEvents() {
	var c *sdk.Client // connected
	_, err := c.PostEvents(context.Background(), []sdk.Event{
		{ID: "status_report", Type: sdk.EventInfo, Params: map[string]any{"status": 1, "message": "ok"}},
		{ID: "low_voltage", Type: sdk.EventAlert, Params: map[string]any{"voltage": 2.5}, Time: time.Now().Add(-time.Minute)},
	})
	if err != nil {
		log.Print(err) // a *sdk.ReplyError when the platform refuses the batch
	}
}

// Resources pushed by the platform are downloaded and reported.
func ExampleClient_OnResources() {
	var c *sdk.Client // before Connect
	ctx := context.Background()
	err := c.OnResources(ctx, sdk.ResourceHandlers{
		Update: func(ctx context.Context, u sdk.ResourceUpdate) {
			if err := c.DownloadResource(ctx, u, "/var/lib/device/"+u.Name, nil); err != nil {
				log.Print(err)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}
