package push

import "github.com/pushrules/pushrules/registry"

// form reads the publish-options form of the <x/> just started. The fields and
// their values are only read by registry.NewForm, which copies them: they
// stay on the stack (fields is never appended to, so that what it holds
// does not escape).
func (d *decoder) form() (registry.Form, error) {
	typ := d.attr("type")
	var fields [maxFormFields]registry.Field
	var valueArray [16]string
	nf, values := 0, valueArray[:0]
	budget := maxFormBytes
	for {
		ok, err := d.next()
		if err != nil {
			return registry.Form{}, err
		}
		if !ok {
			return registry.NewForm(typ, fields[:nf]...), nil
		}
		if !d.is(nsDataForms, "field") {
			if err := d.skip(); err != nil {
				return registry.Form{}, err
			}
			continue
		}
		if nf == maxFormFields {
			return registry.Form{}, errRequestTooLarge
		}
		fd := registry.Field{Var: d.attr("var"), Type: d.attr("type")}
		budget -= len(fd.Var) + len(fd.Type)
		first := len(values)
		for {
			ok, err := d.next()
			if err != nil {
				return registry.Form{}, err
			}
			if !ok {
				break
			}
			if !d.is(nsDataForms, "value") {
				if err := d.skip(); err != nil {
					return registry.Form{}, err
				}
				continue
			}
			if len(values)-first == maxFieldValues {
				return registry.Form{}, errRequestTooLarge
			}
			s, err := d.text(max(budget, 0))
			if err != nil {
				return registry.Form{}, err
			}
			budget -= len(s)
			values = append(values, s)
		}
		fd.Values = values[first:len(values):len(values)]
		if budget < 0 {
			return registry.Form{}, errRequestTooLarge
		}
		fields[nf] = fd
		nf++
	}
}
