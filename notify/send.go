package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vaultsentry/vaultsentry/report"
)

// Delivery defaults.
const (
	// DefaultAttempts is how many times a payload is posted before the target counts as failed.
	DefaultAttempts = 3
	// DefaultTimeout bounds one request, connection to response headers and body.
	DefaultTimeout = 10 * time.Second
	// DefaultBackoff is the wait before the second attempt; it doubles for each one after.
	DefaultBackoff = time.Second
	// DefaultMaxWait bounds a wait between attempts, a Retry-After too: a receiver asking for an
	// hour does not hold the run for an hour.
	DefaultMaxWait = 30 * time.Second
	// DefaultDeadline bounds all attempts at one target together.
	DefaultDeadline = 60 * time.Second
	// maxResponse is how much of a response is read (to reuse the connection and to quote an
	// error).
	maxResponse = 64 << 10
)

// Sender posts payloads with retries. The zero value uses the defaults above.
type Sender struct {
	Client   *http.Client // nil: a client with no redirects and DefaultTimeout per request
	Attempts int
	Timeout  time.Duration // per request
	Backoff  time.Duration
	MaxWait  time.Duration
	Deadline time.Duration // per target, all attempts
	Now      func() time.Time
	// UserAgent is sent with every request ("vaultsentry/<version>").
	UserAgent string
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

func (s *Sender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{
		// A redirect would turn the POST into a GET, or send the payload where the user did not
		// say: it counts as a failure with its status.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Send posts msg to every target, each in the payload of its kind, concurrently. The error joins
// a *DeliveryError for each target that did not take it; nil means every target did.
func (s *Sender) Send(ctx context.Context, targets []Target, msg *Message) error {
	now := s.now()
	return s.each(ctx, targets, func(t Target) ([]byte, error) { return body(t.Kind, msg, now) })
}

// SendFailure posts the notice of a failed run to every target.
func (s *Sender) SendFailure(ctx context.Context, targets []Target, f *Failure) error {
	now := s.now()
	return s.each(ctx, targets, func(t Target) ([]byte, error) { return failureBody(t.Kind, f, now) })
}

func (s *Sender) each(ctx context.Context, targets []Target, payload func(Target) ([]byte, error)) error {
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		b, err := payload(t)
		if err != nil {
			errs[i] = &DeliveryError{Target: t, Err: err}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.deliver(ctx, t, b)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// deliver posts b to t until it is accepted (2xx), the error is permanent (a 4xx other than
// 408 and 429), the attempts are used up, the target's deadline passes, or ctx ends.
func (s *Sender) deliver(ctx context.Context, t Target, b []byte) error {
	attempts := orDefault(s.Attempts, DefaultAttempts)
	ctx, cancel := context.WithTimeout(ctx, orDefault(s.Deadline, DefaultDeadline))
	defer cancel()
	wait := orDefault(s.Backoff, DefaultBackoff)
	maxWait := orDefault(s.MaxWait, DefaultMaxWait)
	var err error
	n := 0
	for n < attempts {
		n++
		var retryAfter time.Duration
		var retry bool
		retry, retryAfter, err = s.post(ctx, t, b)
		if err == nil {
			return nil
		}
		if !retry || n == attempts || ctx.Err() != nil {
			break
		}
		d := wait
		if retryAfter > 0 {
			d = retryAfter
		}
		d = min(d, maxWait)
		wait *= 2
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (waiting to retry after: %v)", context.Cause(ctx), err)
			break
		}
	}
	return &DeliveryError{Target: t, Attempts: n, Err: err}
}

// statusError is a response the receiver did not accept.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.code)
	}
	return fmt.Sprintf("HTTP %d: %s", e.code, e.body)
}

// post makes one attempt. retry says whether another may succeed; retryAfter is the wait a 429
// or 503 asked for.
func (s *Sender) post(ctx context.Context, t Target, b []byte) (retry bool, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, orDefault(s.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL.String(), bytes.NewReader(b))
	if err != nil {
		return false, 0, bareURLError(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if s.UserAgent != "" {
		req.Header.Set("User-Agent", s.UserAgent)
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return true, 0, bareURLError(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, 0, nil
	}
	err = &statusError{code: resp.StatusCode, body: report.Cut(report.Sanitize(strings.TrimSpace(string(data))), 200)}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true, parseRetryAfter(resp.Header.Get("Retry-After"), s.now()), err
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true, 0, err
	}
	return false, 0, err
}

// parseRetryAfter reads Retry-After: seconds, or an HTTP date (RFC 9110 §10.2.3); 0 when absent
// or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(min(n, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// bareURLError drops the URL that net/http's errors repeat: a webhook's URL is its secret, and
// the error reaches standard error and CI logs.
func bareURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}
