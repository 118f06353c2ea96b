// SPDX-License-Identifier: GPL-2.0-or-later

// "serve -method-delay NAME=MS": vcsim sleeps MS milliseconds before it
// runs SOAP method NAME (repeatable).  The sleep comes before the method
// has any effect, so a test can kill vmtraced while its operation is
// PENDING and the platform has not changed yet (e.g. Rename_Task=5000).

package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// methodDelays is a flag.Value: NAME=MS pairs, for model.DelayConfig.MethodDelay.
type methodDelays map[string]int

var serveMethodDelays = methodDelays{}

func (m methodDelays) String() string {
	var parts []string
	for name, ms := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", name, ms))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (m methodDelays) Set(v string) error {
	name, ms, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=MILLISECONDS, got %q", v)
	}
	n, err := strconv.Atoi(ms)
	if err != nil || n < 0 {
		return fmt.Errorf("delay of %s must be a non-negative number of milliseconds, got %q", name, ms)
	}
	m[name] = n
	return nil
}
