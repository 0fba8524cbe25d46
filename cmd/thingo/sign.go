package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

func sign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("thingo sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	product := fs.String("product", "", "product id (10 characters)")
	device := fs.String("device", "", "device name")
	secret := fs.String("secret", "", "device secret (base64 PSK as issued)")
	method := fs.String("method", "hmacsha256", "signature method: hmacsha256 or hmacsha1")
	expiry := fs.Int64("expiry", 0, "seconds until the username expires (0: never)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *product == "" || *device == "" || *secret == "" {
		fmt.Fprintln(stderr, "thingo sign: --product, --device and --secret are required")
		return 2
	}
	if *expiry < 0 {
		fmt.Fprintln(stderr, "thingo sign: --expiry must be >= 0")
		return 2
	}
	var exp time.Time
	if *expiry > 0 {
		exp = time.Now().Add(time.Duration(*expiry) * time.Second)
	}
	clientID, username, password, err := protocol.DeviceCredentials(*product, *device, *secret, *method, exp)
	if err != nil {
		fmt.Fprintf(stderr, "thingo sign: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "client id: %s\nusername:  %s\npassword:  %s\n", clientID, username, password)
	return 0
}
