// Package gotyped runs the official typed Go client of Tencent Cloud IoT
// Explorer (tencentcloud-sdk-go v1.0.162, the last monorepo release the Go
// module proxy serves) against Thingo's API, started in-process. It is a
// separate module so the SDK stays out of Thingo's go.mod.
package gotyped
