// Command sonicdecode is the throughput ceiling of scripts/bench.sh: the least a Go program must
// do to read a Vault audit log, a plain decode of every line with bytedance/sonic into a struct
// of the fields vaultsentry needs, on every core (one reader goroutine cutting the file into
// chunks of whole lines, GOMAXPROCS decoding workers). It keeps nothing: no pairing, no events,
// no analysis, no report. It prints the lines decoded and the lines sonic rejected.
//
//	go run ./scripts/sonicdecode audit.log
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/bytedance/sonic"
)

type auth struct {
	Accessor         string   `json:"accessor"`
	DisplayName      string   `json:"display_name"`
	Policies         []string `json:"policies"`
	TokenPolicies    []string `json:"token_policies"`
	IdentityPolicies []string `json:"identity_policies"`
	EntityID         string   `json:"entity_id"`
	TokenType        string   `json:"token_type"`
}

type entry struct {
	Time    string `json:"time"`
	Type    string `json:"type"`
	Error   string `json:"error"`
	Auth    *auth  `json:"auth"`
	Request *struct {
		ID         string `json:"id"`
		Operation  string `json:"operation"`
		Path       string `json:"path"`
		MountPoint string `json:"mount_point"`
		MountType  string `json:"mount_type"`
		Namespace  *struct {
			ID   string `json:"id"`
			Path string `json:"path"`
		} `json:"namespace"`
		RemoteAddress       string `json:"remote_address"`
		ClientTokenAccessor string `json:"client_token_accessor"`
		Headers             *struct {
			UserAgent []string `json:"user-agent"`
		} `json:"headers"`
		Data *struct {
			NoParent bool `json:"no_parent"`
		} `json:"data"`
	} `json:"request"`
	Response *struct {
		Auth *auth `json:"auth"`
		Data *struct {
			Error string `json:"error"`
		} `json:"data"`
	} `json:"response"`
}

const chunkSize = 4 << 20

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sonicdecode FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	chunks := make(chan []byte, 4)
	free := make(chan []byte, 8) // buffers back from the workers
	getBuf := func() []byte {
		select {
		case b := <-free:
			return b[:0]
		default:
			return make([]byte, 0, chunkSize)
		}
	}
	var lines, bad atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n, nbad int64
			for chunk := range chunks {
				c := chunk
				for len(c) > 0 {
					i := bytes.IndexByte(c, '\n')
					line := c
					if i >= 0 {
						line, c = c[:i], c[i+1:]
					} else {
						c = nil
					}
					if len(line) == 0 {
						continue
					}
					var e entry
					if sonic.Unmarshal(line, &e) != nil {
						nbad++
					}
					n++
				}
				select {
				case free <- chunk[:0]:
				default:
				}
			}
			lines.Add(n)
			bad.Add(nbad)
		}()
	}
	var carry []byte
	for {
		buf := getBuf()
		buf = append(buf, carry...)
		if cap(buf) < len(buf)+chunkSize/2 {
			buf = append(make([]byte, 0, 2*cap(buf)+chunkSize), buf...)
		}
		n, err := io.ReadFull(f, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil { // EOF: the rest is the last line
			if len(buf) > 0 {
				chunks <- buf
			}
			break
		}
		cut := bytes.LastIndexByte(buf, '\n') + 1
		carry = append(carry[:0], buf[cut:]...)
		if cut > 0 {
			chunks <- buf[:cut]
		}
	}
	close(chunks)
	wg.Wait()
	fmt.Printf("%d lines, %d rejected\n", lines.Load(), bad.Load())
}
