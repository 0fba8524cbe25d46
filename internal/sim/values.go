package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// walker produces realistic values for a thing model: numbers random-walk
// within their range, bools and enums change now and then, strings stay
// within their length limits. It is not safe for concurrent use.
type walker struct {
	rng   *rand.Rand
	state map[string]any // current value per property id
}

func newWalker(rng *rand.Rand) *walker {
	return &walker{rng: rng, state: map[string]any{}}
}

// step advances every property of m and returns the values to report.
func (w *walker) step(m *thingmodel.Model) map[string]any {
	out := make(map[string]any, len(m.Properties))
	for _, p := range m.Properties {
		v := w.next(p.Define, w.state[p.ID])
		w.state[p.ID] = v
		out[p.ID] = v
	}
	return out
}

// set records values received in a control.
func (w *walker) set(params map[string]any) {
	for k, v := range params {
		w.state[k] = v
	}
}

// params returns fresh values for event parameters or action outputs.
func (w *walker) params(ps []thingmodel.Param) map[string]any {
	out := make(map[string]any, len(ps))
	for _, p := range ps {
		out[p.ID] = w.next(p.Define, nil)
	}
	return out
}

func numRange(d thingmodel.Define, lo, hi float64) (float64, float64) {
	if f, err := strconv.ParseFloat(string(d.Min), 64); err == nil {
		lo = f
	}
	if f, err := strconv.ParseFloat(string(d.Max), 64); err == nil {
		hi = f
	}
	return lo, hi
}

// next returns the value following prev (nil: a fresh value) for define d.
func (w *walker) next(d thingmodel.Define, prev any) any {
	switch d.Type {
	case thingmodel.TypeBool:
		b, ok := prev.(int)
		if f, isF := prev.(float64); isF { // set by a control (JSON)
			b, ok = int(f), f == 0 || f == 1
		}
		if !ok || w.rng.IntN(10) == 0 {
			return w.rng.IntN(2)
		}
		return b
	case thingmodel.TypeInt:
		lo, hi := numRange(d, 0, 100)
		cur, ok := prev.(int64)
		if f, isF := prev.(float64); isF { // set by a control (JSON)
			cur, ok = int64(f), true
		}
		if !ok {
			return int64(lo) + w.rng.Int64N(int64(hi-lo)+1)
		}
		stride := max(int64((hi-lo)/20), 1)
		v := cur + w.rng.Int64N(2*stride+1) - stride
		return min(max(v, int64(lo)), int64(hi))
	case thingmodel.TypeFloat:
		lo, hi := numRange(d, 0, 100)
		cur, ok := prev.(float64)
		if !ok {
			cur = lo + w.rng.Float64()*(hi-lo)
		} else {
			cur += w.rng.NormFloat64() * (hi - lo) / 20
		}
		cur = math.Round(min(max(cur, lo), hi)*100) / 100
		return min(max(cur, lo), hi)
	case thingmodel.TypeEnum, thingmodel.TypeStringEnum:
		if prev != nil && w.rng.IntN(10) != 0 {
			return prev
		}
		keys := sortedKeys(d.Mapping)
		k := keys[w.rng.IntN(len(keys))]
		if d.Type == thingmodel.TypeStringEnum {
			return k
		}
		n, _ := strconv.ParseInt(k, 10, 64)
		return n
	case thingmodel.TypeString:
		if s, ok := prev.(string); ok {
			return s
		}
		lo, hi := numRange(d, 0, thingmodel.MaxStringLen)
		n := min(max(int(lo), 8), int(hi))
		const letters = "abcdefghijklmnopqrstuvwxyz"
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[w.rng.IntN(len(letters))]
		}
		return string(b)
	case thingmodel.TypeTimestamp:
		return time.Now().Unix()
	case thingmodel.TypeStruct:
		cur, _ := prev.(map[string]any)
		out := make(map[string]any, len(d.Specs))
		for _, m := range d.Specs {
			out[m.ID] = w.next(m.DataType, cur[m.ID])
		}
		return out
	case thingmodel.TypeArray:
		if d.ArrayInfo == nil {
			return []any{}
		}
		cur, _ := prev.([]any)
		n := len(cur)
		if n == 0 {
			n = 1 + w.rng.IntN(3)
		}
		out := make([]any, n)
		for i := range out {
			var p any
			if i < len(cur) {
				p = cur[i]
			}
			out[i] = w.next(*d.ArrayInfo, p)
		}
		return out
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Deterministic order for a seeded simulation.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
