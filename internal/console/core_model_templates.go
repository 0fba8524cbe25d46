package console

import "strings"

// modelTemplate is a starter thing model offered by the model editor.
type modelTemplate struct {
	ID    string // data-template value and the id suffix of its data block
	Label string
	JSON  string // with productIDPlaceholder in the profile
}

// productIDPlaceholder is replaced by the product's id in a template.
const productIDPlaceholder = "{{PRODUCT_ID}}"

// forProduct returns the template's JSON for the product pid.
func (t modelTemplate) forProduct(pid string) string {
	return strings.ReplaceAll(t.JSON, productIDPlaceholder, pid)
}

// starterTemplates are the starter templates, in the order shown.
func starterTemplates() []modelTemplate {
	return []modelTemplate{
		{ID: "smart-light", Label: "Smart light", JSON: smartLightModel},
		{ID: "temperature-sensor", Label: "Temperature sensor", JSON: temperatureSensorModel},
		{ID: "smart-plug", Label: "Smart plug", JSON: smartPlugModel},
	}
}

const smartLightModel = `{
  "version": "1.0",
  "profile": {"ProductId": "{{PRODUCT_ID}}", "CategoryId": "1"},
  "properties": [
    {"id": "power_switch", "name": "Power", "desc": "Turns the light on or off", "mode": "rw", "required": true,
     "define": {"type": "bool", "mapping": {"0": "off", "1": "on"}}},
    {"id": "brightness", "name": "Brightness", "desc": "Brightness in percent", "mode": "rw",
     "define": {"type": "int", "unit": "%", "step": "1", "min": "0", "max": "100", "start": "50"}},
    {"id": "color", "name": "Color", "desc": "Light color", "mode": "rw",
     "define": {"type": "enum", "mapping": {"0": "red", "1": "green", "2": "blue"}}}
  ],
  "events": [
    {"id": "status_report", "name": "Status", "desc": "The light's running state", "type": "info",
     "params": [{"id": "status", "name": "Status", "define": {"type": "bool", "mapping": {"0": "normal", "1": "fault"}}}]}
  ],
  "actions": [
    {"id": "light_blink", "name": "Blink", "desc": "Blinks the light for a while",
     "input": [{"id": "time", "name": "Duration (s)", "define": {"type": "int", "unit": "s", "step": "1", "min": "0", "max": "60", "start": "5"}}],
     "output": [{"id": "result", "name": "Result", "define": {"type": "int", "step": "1", "min": "0", "max": "1", "start": "0"}}]}
  ]
}`

const temperatureSensorModel = `{
  "version": "1.0",
  "profile": {"ProductId": "{{PRODUCT_ID}}", "CategoryId": "1"},
  "properties": [
    {"id": "temperature", "name": "Temperature", "desc": "Measured temperature", "mode": "r",
     "define": {"type": "float", "unit": "°C", "step": "0.1", "min": "-40", "max": "125", "start": "20"}},
    {"id": "humidity", "name": "Humidity", "desc": "Relative humidity", "mode": "r",
     "define": {"type": "float", "unit": "%", "step": "0.1", "min": "0", "max": "100", "start": "50"}},
    {"id": "report_interval", "name": "Report interval", "desc": "Seconds between reports", "mode": "rw",
     "define": {"type": "int", "unit": "s", "step": "1", "min": "5", "max": "3600", "start": "60"}}
  ],
  "events": [
    {"id": "high_temperature", "name": "High temperature", "desc": "The temperature passed the alarm threshold", "type": "alert",
     "params": [{"id": "temperature", "name": "Temperature", "define": {"type": "float", "unit": "°C", "step": "0.1", "min": "-40", "max": "125", "start": "0"}}]},
    {"id": "sensor_fault", "name": "Sensor fault", "desc": "The sensor stopped answering", "type": "fault",
     "params": [{"id": "error_code", "name": "Error code", "define": {"type": "int", "step": "1", "min": "0", "max": "255", "start": "0"}}]}
  ],
  "actions": []
}`

const smartPlugModel = `{
  "version": "1.0",
  "profile": {"ProductId": "{{PRODUCT_ID}}", "CategoryId": "1"},
  "properties": [
    {"id": "power_switch", "name": "Power", "desc": "Turns the socket on or off", "mode": "rw", "required": true,
     "define": {"type": "bool", "mapping": {"0": "off", "1": "on"}}},
    {"id": "power", "name": "Power draw", "desc": "Current load", "mode": "r",
     "define": {"type": "float", "unit": "W", "step": "0.1", "min": "0", "max": "4000", "start": "0"}},
    {"id": "label", "name": "Label", "desc": "Where the plug is", "mode": "rw",
     "define": {"type": "string", "min": "0", "max": "64"}}
  ],
  "events": [
    {"id": "overload", "name": "Overload", "desc": "The load exceeded the rating", "type": "alert",
     "params": [{"id": "power", "name": "Power draw", "define": {"type": "float", "unit": "W", "step": "0.1", "min": "0", "max": "10000", "start": "0"}}]}
  ],
  "actions": [
    {"id": "timer_off", "name": "Turn off later", "desc": "Turns the socket off after a delay",
     "input": [{"id": "delay", "name": "Delay (s)", "define": {"type": "int", "unit": "s", "step": "1", "min": "1", "max": "86400", "start": "60"}}],
     "output": [{"id": "result", "name": "Result", "define": {"type": "int", "step": "1", "min": "0", "max": "1", "start": "0"}}]}
  ]
}`
