// SPDX-License-Identifier: GPL-2.0-or-later

// "schema-check HEADER": compare the hand-written gSOAP header
// (daemon/backends/vsphere/vim25.h) with govmomi's vim25 types, which are
// generated from VMware's WSDL.  vcsim decodes requests leniently (unknown
// elements are dropped, missing ones left zero), so a member of the wrong
// type or a required member declared optional never shows against it.
//
// For every struct vim25__X (data object X) and _vim25__Op (request Op,
// govmomi's OpRequestType), each declared element must
//   - exist in the Go type (or one it embeds), under the same XML name;
//   - be required in the header when the WSDL requires it (no omitempty,
//     not a Go pointer): gSOAP then checks it, and the code must fill it;
//   - when declared a ManagedObjectReference, be one in the WSDL.
//
// Attributes, __size/__type companions, __item and __any are skipped.
// Only what we send must match (structs reached from a request, and the
// types sent in polymorphic members, listed in sentPolymorphic); decoding is
// lenient by design (no SOAP_XML_STRICT), so a mismatch in a struct we only
// decode is printed as a note.  Exits 1 on a mismatch in what we send.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

type headerMember struct {
	ctype, name string
	pointer     bool
	occurs      string // "", "0" or "1"
}

type headerStruct struct {
	name    string
	line    int
	members []headerMember
}

var (
	structStart = regexp.MustCompile(`^struct (_?vim25__\w+) \{`)
	memberLine  = regexp.MustCompile(`^\s+((?:struct |enum )?\w+)\s*(\*?)\s*(\w+)(?:\s+([01]))?;`)
)

func parseHeader(path string) ([]headerStruct, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []headerStruct
	var cur *headerStruct
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := structStart.FindStringSubmatch(line); m != nil {
			out = append(out, headerStruct{name: m[1], line: n})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if strings.HasPrefix(line, "}") {
			cur = nil
			continue
		}
		if m := memberLine.FindStringSubmatch(line); m != nil {
			cur.members = append(cur.members, headerMember{m[1], m[3], m[2] == "*", m[4]})
		}
	}
	return out, sc.Err()
}

// goTypeName: vim25__X is X, _vim25__Op is OpRequestType; Response elements have none.
func goTypeName(cname string) string {
	name := strings.ReplaceAll(cname, "_USCORE", "_")
	if strings.HasPrefix(name, "_vim25__") {
		name = strings.TrimPrefix(name, "_vim25__")
		if strings.HasSuffix(name, "Response") {
			return ""
		}
		return name + "RequestType"
	}
	return strings.TrimPrefix(name, "vim25__")
}

// xmlName: _USCOREthis is _this; template_ is template.
func xmlName(member string) string {
	return strings.TrimSuffix(strings.ReplaceAll(member, "_USCORE", "_"), "_")
}

// findField looks name up in t and the structs it embeds.
func findField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if g, ok := findField(f.Type, name); ok {
				return g, true
			}
			continue
		}
		tag := strings.Split(f.Tag.Get("xml"), ",")
		if tag[0] == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func wsdlRequired(f reflect.StructField) bool {
	return !strings.Contains(f.Tag.Get("xml"), "omitempty") && f.Type.Kind() != reflect.Ptr
}

func headerRequired(m headerMember) bool {
	if m.pointer || m.ctype == "void" || strings.HasPrefix(m.name, "__") {
		return m.occurs == "1"
	}
	return m.occurs != "0"
}

var morType = reflect.TypeOf(types.ManagedObjectReference{})

// The types vmtraced sends in "int __typeX; void *X" members, which name no type.
var sentPolymorphic = []string{
	"vim25__TraversalSpec", "vim25__SelectionSpec", "vim25__VirtualDisk",
	"vim25__VirtualDiskFlatVer2BackingInfo", "vim25__VirtualDevicePciBusSlotInfo", "vim25__GeneralUserEvent",
}

// sentStructs: the request elements and every struct reached from them.
func sentStructs(structs []headerStruct) map[string]bool {
	byName := map[string]*headerStruct{}
	for i := range structs {
		byName[structs[i].name] = &structs[i]
	}
	sent := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		s := byName[name]
		if s == nil || sent[name] {
			return
		}
		sent[name] = true
		for _, m := range s.members {
			visit(strings.TrimPrefix(m.ctype, "struct "))
		}
	}
	for _, s := range structs {
		if strings.HasPrefix(s.name, "_vim25__") && !strings.HasSuffix(s.name, "Response") {
			visit(s.name)
		}
	}
	for _, name := range sentPolymorphic {
		visit(name)
	}
	return sent
}

func checkMember(goName string, t reflect.Type, m headerMember) string {
	if strings.HasPrefix(m.name, "__") {
		return ""
	}
	name := xmlName(m.name)
	f, ok := findField(t, name)
	if !ok {
		return fmt.Sprintf("%s.%s: no such element in the WSDL", goName, name)
	}
	if wsdlRequired(f) && !headerRequired(m) {
		return fmt.Sprintf("%s.%s: required in the WSDL (minOccurs=1), optional in the header", goName, name)
	}
	ft := f.Type
	for ft.Kind() == reflect.Ptr || ft.Kind() == reflect.Slice {
		ft = ft.Elem()
	}
	if m.ctype == "struct vim25__ManagedObjectReference" && ft != morType {
		return fmt.Sprintf("%s.%s: declared a ManagedObjectReference, the WSDL says %s", goName, name, ft.Name())
	}
	return ""
}

func cmdSchemaCheck(args []string) error {
	if len(args) != 1 {
		return usageError("usage: schema-check daemon/backends/vsphere/vim25.h")
	}
	structs, err := parseHeader(args[0])
	if err != nil {
		return err
	}
	sent := sentStructs(structs)
	bad, checked := 0, 0
	for _, s := range structs {
		goName := goTypeName(s.name)
		t, ok := types.TypeFunc()(goName)
		if goName == "" || !ok {
			continue
		}
		checked++
		for _, m := range s.members {
			msg := checkMember(goName, t, m)
			switch {
			case msg == "":
			case sent[s.name]:
				fmt.Printf("%s:%d: %s\n", args[0], s.line, msg)
				bad++
			default:
				fmt.Printf("%s:%d: note (only decoded): %s\n", args[0], s.line, msg)
			}
		}
	}
	fmt.Printf("%d structs checked against govmomi's types, %d mismatches\n", checked, bad)
	if bad > 0 {
		return errors.New("the header does not match the WSDL")
	}
	return nil
}
