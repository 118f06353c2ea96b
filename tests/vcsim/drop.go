// SPDX-License-Identifier: GPL-2.0-or-later

// "serve -drop-answer METHOD": run the first call of METHOD, then close the
// connection instead of answering, as a network failure after the request
// reached vCenter would.  The client must find out whether the call created
// a task rather than send it again.

package main

import (
	"bytes"
	"io/ioutil"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

type dropAnswer struct {
	next   http.Handler
	method []byte
	done   int32
}

func (d *dropAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if atomic.LoadInt32(&d.done) != 0 || r.Body == nil {
		d.next.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	if !bytes.Contains(body, d.method) || !atomic.CompareAndSwapInt32(&d.done, 0, 1) {
		d.next.ServeHTTP(w, r)
		return
	}

	d.next.ServeHTTP(httptest.NewRecorder(), r) // the call runs, its answer is lost
	log.Printf("dropped the answer to %s", d.method)
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection without answering
}
