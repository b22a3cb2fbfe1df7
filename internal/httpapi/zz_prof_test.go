package httpapi_test

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestZZProfLogin(t *testing.T) {
	logLevel = slog.LevelWarn
	e := newEnv(t)
	a := e.newApp()
	for i := range 1024 {
		e.login(a, fmt.Sprint("user-", i), fmt.Sprint("device-", i))
	}
	host := strings.TrimPrefix(e.srv.URL, "http://")
	var wg sync.WaitGroup
	n := 0
	var mu sync.Mutex
	end := time.Now().Add(4 * time.Second)
	for c := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn, _ := net.Dial("tcp", host)
			br := bufio.NewReader(cn)
			k := 0
			for i := 0; time.Now().Before(end); i++ {
				u := (c + i*32) % 1024
				body := fmt.Sprintf(`{"userId":"user-%d","deviceId":"device-%d"}`, u, u)
				req := "POST /api/v5/sessions HTTP/1.1\r\nHost: " + host + "\r\nX-API-Key: " + a.APIKey + "\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
				cn.Write([]byte(req))
				br.ReadSlice('\n')
				cl := 0
				for {
					h, _ := br.ReadSlice('\n')
					if len(h) <= 2 {
						break
					}
					if strings.HasPrefix(strings.ToLower(string(h)), "content-length:") {
						cl, _ = strconv.Atoi(strings.TrimSpace(string(h[15:])))
					}
				}
				br.Discard(cl)
				k++
			}
			mu.Lock()
			n += k
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Println("rps", n/4)
}
