// Package gocommon runs the official Go SDK's generic CommonClient
// (tencentcloud-sdk-go/tencentcloud/common v1.3.211, the current signer)
// against Thingo's API, started in-process, for every action including those
// the old typed client lacks. TestNodeSDK also runs the Node SDK flow in
// ../node when its node_modules are installed.
package gocommon
