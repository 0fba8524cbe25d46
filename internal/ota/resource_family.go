package ota

import (
	"context"
	"encoding/json"

	"github.com/thingo-iot/thingo/protocol"
)

// fileMethods are the §10 file-management methods a device sends; on
// $thing/up/service they belong to resource management, not to the thing
// model.
var fileMethods = map[string]bool{
	"report_version": true, "report_progress": true, "report_result": true,
	"request_url": true, "report_post_result": true, "del_result": true,
}

// IsFileMethod reports whether a $thing/up/service payload carries a §10
// file-management method (report_version, report_progress, report_result,
// request_url, report_post_result, del_result).
func IsFileMethod(payload []byte) bool {
	var m struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(payload, &m) != nil {
		return false
	}
	return fileMethods[m.Method]
}

// HandleThingService handles a §10 file-management message a device sent
// on $thing/up/service/{pid}/{dn} (the C SDK's file manager). Replies go
// to $thing/down/service, and so do later pushes until the device reports
// its version on $resource again. Other methods are ignored: the caller
// routes only payloads for which IsFileMethod is true.
func (s *Service) HandleThingService(ctx context.Context, productID, deviceName string, payload []byte) {
	s.handleFiles(ctx, protocol.FamilyThing, productID, deviceName, payload)
}

// deviceKey identifies a device in in-memory maps.
type deviceKey struct{ productID, deviceName string }

// setFileFamily remembers the family a device last used for
// report_version.
func (s *Service) setFileFamily(pid, dn string, f protocol.Family) {
	s.famMu.Lock()
	defer s.famMu.Unlock()
	if f == protocol.FamilyThing {
		s.thingFiles[deviceKey{pid, dn}] = struct{}{}
	} else {
		delete(s.thingFiles, deviceKey{pid, dn})
	}
}

// fileFamily returns the family to push file messages on: the one the
// device last used for report_version, $resource by default.
func (s *Service) fileFamily(pid, dn string) protocol.Family {
	s.famMu.Lock()
	defer s.famMu.Unlock()
	if _, ok := s.thingFiles[deviceKey{pid, dn}]; ok {
		return protocol.FamilyThing
	}
	return protocol.FamilyResource
}

// sendOn publishes a file-management message to the device on family f
// ($resource/down/service or $thing/down/service).
func (s *Service) sendOn(ctx context.Context, f protocol.Family, pid, dn string, msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	topic := protocol.FamilyTopic(protocol.FamilyResource, protocol.Down, pid, dn)
	if f == protocol.FamilyThing {
		topic = protocol.ThingDown(protocol.KindService, pid, dn)
	}
	return s.pub.Publish(ctx, pid, dn, topic, b, 1)
}

// sendResource pushes a platform-initiated message (update_resource,
// del_resource) on the device's file family.
func (s *Service) sendResource(ctx context.Context, pid, dn string, msg any) error {
	return s.sendOn(ctx, s.fileFamily(pid, dn), pid, dn, msg)
}
