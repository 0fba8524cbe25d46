package thingmodel

import "testing"

// report10 is a 10-property report covering every scalar type, a struct and an array.
var report10 = []byte(`{"b":1,"i":42,"f":12.5,"e":2,"se":"high","s":"ab","ts":1628646783,"st":{"x":3,"y":"abc","z":true},"ai":[1,2,3],"ro":7}`)

func BenchmarkValidateReport10(b *testing.B) {
	m := mustParse(b, allTypesModel)
	if err := m.ValidateReport(report10); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(report10)))
	for b.Loop() {
		if err := m.ValidateReport(report10); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateReportInvalid(b *testing.B) {
	m := mustParse(b, allTypesModel)
	bad := []byte(`{"b":1,"i":42,"f":12.5,"e":7}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.ValidateReport(bad); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkValidateEvent(b *testing.B) {
	m := mustParse(b, allTypesModel)
	params := []byte(`{"v":2.8,"msg":"low"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.ValidateEvent("ev", "alert", params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data := loadTestdata(b)["java_sdk_struct_array.json"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
