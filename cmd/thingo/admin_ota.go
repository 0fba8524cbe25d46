package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

const adminOTAUsage = `  ota create  --product ID --version V [--devices A,B | --ori-version V] [--rollout-batch N]
              [--pause-failure-percent P] [--timeout SECONDS] [--retries N] [--rate-limit N]
              (start a firmware task; staged rollout with --rollout-batch/--pause-failure-percent)
  ota status  --product ID --version V --task N     (the task, its counts and rollout settings)
  ota devices --product ID --version V --task N [--offset N] [--limit N]   (the task's devices)
  ota pause|resume|cancel --product ID --task N
  resource upload-url --product ID --name NAME --version V   (signed PUT link for the file)
  resource push   --product ID --devices A,B --name NAME --version V [--type FILE]
  resource delete --product ID --device NAME --name NAME
  resource list   --product ID --device NAME [--uploads]
`

// otaCommand parses `thingo admin ota|resource SUB [flags]` into an API
// action and request; ok is false after a usage error (printed to stderr).
func otaCommand(cmd string, fs *flag.FlagSet, args []string, stderr io.Writer) (action string, req map[string]any, ok bool) {
	usage := func(msg string) (string, map[string]any, bool) {
		fmt.Fprintf(stderr, "thingo admin %s: %s\n\n%s", cmd, msg, adminOTAUsage)
		return "", nil, false
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usage("want a subcommand")
	}
	sub, args := args[0], args[1:]
	product := fs.String("product", "", "product id")
	switch cmd + " " + sub {
	case "ota create":
		version := fs.String("version", "", "firmware version to install")
		devices := fs.String("devices", "", "comma-separated device names (empty: every device on --ori-version)")
		ori := fs.String("ori-version", "", "upgrade the devices on this version")
		batch := fs.Int64("rollout-batch", 0, "push only this many devices first; the rest once they finished (0: all)")
		pause := fs.Int64("pause-failure-percent", 0, "pause the task when more than this percentage of finished devices failed (0: never)")
		timeout := fs.Uint64("timeout", 0, "seconds a device may stay silent during the upgrade (120-900; 0: default)")
		retries := fs.Int64("retries", -1, "retries per device (-1: default)")
		rate := fs.Int64("rate-limit", 0, "devices pushed per minute (0: no limit)")
		if fs.Parse(args) != nil {
			return "", nil, false
		}
		req = map[string]any{"ProductID": *product, "FirmwareVersion": *version, "FirmwareOriVersion": *ori,
			"RolloutBatch": *batch, "PauseFailurePercent": *pause, "RateLimit": *rate}
		if names := splitList(*devices); len(names) > 0 {
			req["DeviceNames"] = names
		}
		if *timeout > 0 {
			req["TimeoutInterval"] = *timeout
		}
		if *retries >= 0 {
			req["MaxRetryNum"] = *retries
		}
		return "BatchUpdateFirmware", req, true
	case "ota status", "ota devices":
		version := fs.String("version", "", "firmware version of the task")
		task := fs.Uint64("task", 0, "task id")
		offset := fs.Uint64("offset", 0, "first device (ota devices)")
		limit := fs.Uint64("limit", 100, "devices to list (ota devices)")
		if fs.Parse(args) != nil {
			return "", nil, false
		}
		if sub == "status" {
			return "DescribeFirmwareTask", map[string]any{"ProductID": *product, "FirmwareVersion": *version, "TaskId": *task}, true
		}
		return "DescribeFirmwareTaskDevices", map[string]any{"ProductID": *product, "FirmwareVersion": *version,
			"Filters": []map[string]string{{"Key": "TaskId", "Value": strconv.FormatUint(*task, 10)}},
			"Offset":  *offset, "Limit": *limit}, true
	case "ota pause", "ota resume", "ota cancel":
		task := fs.Int64("task", 0, "task id")
		if fs.Parse(args) != nil {
			return "", nil, false
		}
		status := map[string]int{"pause": 4, "resume": 1, "cancel": 3}[sub]
		return "UpdateOtaTaskStatus", map[string]any{"ProductId": *product, "TaskId": *task, "Status": status}, true
	case "resource upload-url":
		name := fs.String("name", "", "resource name")
		version := fs.String("version", "", "resource version")
		if fs.Parse(args) != nil {
			return "", nil, false
		}
		return "GetResourceUploadURL", map[string]any{"ProductId": *product, "ResourceName": *name, "ResourceVersion": *version}, true
	case "resource push":
		devices := fs.String("devices", "", "comma-separated device names")
		name := fs.String("name", "", "resource name")
		version := fs.String("version", "", "resource version")
		typ := fs.String("type", "", "resource type (default FILE)")
		if fs.Parse(args) != nil {
			return "", nil, false
		}
		return "PushDeviceResource", map[string]any{"ProductId": *product, "DeviceNames": splitList(*devices),
			"ResourceName": *name, "ResourceVersion": *version, "ResourceType": *typ}, true
	case "resource delete":
		device := fs.String("device", "", "device name")
		name := fs.String("name", "", "resource name")
		if fs.Parse(args) != nil {
			return "", nil, false
		}
		return "DeleteDeviceResource", map[string]any{"ProductId": *product, "DeviceName": *device, "ResourceName": *name}, true
	case "resource list":
		device := fs.String("device", "", "device name")
		uploads := fs.Bool("uploads", false, "list the files the device uploaded instead")
		if fs.Parse(args) != nil {
			return "", nil, false
		}
		action = "DescribeDeviceResources"
		if *uploads {
			action = "DescribeDeviceResourceUploads"
		}
		return action, map[string]any{"ProductId": *product, "DeviceName": *device}, true
	}
	return usage(fmt.Sprintf("unknown subcommand %q", sub))
}

// splitList splits a comma-separated list, dropping empty elements.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
