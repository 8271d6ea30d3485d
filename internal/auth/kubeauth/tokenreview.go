package kubeauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

// TokenReviewOptions tune a TokenReview authenticator. Zero values take
// the defaults in brackets.
type TokenReviewOptions struct {
	// Audiences, when set, binds accepted tokens to them: the review asks
	// the API server whether the token was issued for one of them, and a
	// token issued only for other audiences is refused. Tokens of
	// authenticators that know no audiences (OpenShift OAuth, static
	// tokens, some webhooks) are accepted as the API server's own.
	Audiences []string
	// TTL is how long a valid token is remembered [30s] — never beyond the
	// expiry a JWT states; NegativeTTL how long an invalid one is [5s].
	TTL, NegativeTTL time.Duration
	// NewRate and NewBurst bound reviews of tokens not seen valid recently
	// (sign-ins — and every random token of a flood) [20/s, 40]; KnownRate
	// and KnownBurst bound re-checks of tokens that were valid, so that a
	// flood of random tokens never delays the users already signed in
	// [50/s, 100]. InFlight bounds reviews waiting on the API server [16
	// each]; a review that cannot start within Wait is refused [1s].
	NewRate, KnownRate   float64
	NewBurst, KnownBurst int
	InFlight             int
	Wait                 time.Duration
}

func (o TokenReviewOptions) withDefaults() TokenReviewOptions {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.TTL <= 0 {
		o.TTL = 30 * time.Second
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = 5 * time.Second
	}
	def(&o.NewRate, 20)
	def(&o.KnownRate, 50)
	defInt(&o.NewBurst, 40)
	defInt(&o.KnownBurst, 100)
	defInt(&o.InFlight, 16)
	if o.Wait <= 0 {
		o.Wait = time.Second
	}
	return o
}

// TokenReview authenticates bearer tokens with the API server. Only a
// SHA-256 of each token is kept.
type TokenReview struct {
	client kubernetes.Interface
	opts   TokenReviewOptions
	ok     *ttlCache[auth.User]
	bad    *ttlCache[struct{}]
	known  *ttlCache[struct{}] // tokens valid in the last hour
	newG   *gate
	knownG *gate
	flight flight[auth.User]
}

var _ auth.Authenticator = (*TokenReview)(nil)

// NewTokenReview validates tokens with client (the server's own identity,
// which needs create on tokenreviews; give it a client of its own, so that
// its rate limit is not shared with anything else).
func NewTokenReview(client kubernetes.Interface, opts TokenReviewOptions) *TokenReview {
	o := opts.withDefaults()
	return &TokenReview{
		client: client, opts: o,
		ok:     newCache[auth.User](o.TTL, 10000),
		bad:    newCache[struct{}](o.NegativeTTL, 10000),
		known:  newCache[struct{}](time.Hour, 10000),
		newG:   newGate(o.NewRate, o.NewBurst, o.InFlight, o.Wait, "the server is checking too many new tokens right now; try again"),
		knownG: newGate(o.KnownRate, o.KnownBurst, o.InFlight, o.Wait, "the server cannot check your token right now; try again"),
	}
}

// TokenHint says which tokens the server accepts (for 401 answers).
func (t *TokenReview) TokenHint() string {
	if len(t.opts.Audiences) > 0 {
		return fmt.Sprintf("a cluster token issued for audience %s: kubectl create token SERVICEACCOUNT --audience %s, or oc whoami -t", strings.Join(t.opts.Audiences, " or "), t.opts.Audiences[0])
	}
	return "your cluster token: oc whoami -t, or kubectl create token SERVICEACCOUNT"
}

// errBadToken is what an invalid token gets; auth.Authenticate turns it
// into Unauthenticated.
var errBadToken = errors.New("invalid token")

// Authenticate returns the token's user.
func (t *TokenReview) Authenticate(ctx context.Context, token string) (auth.User, error) {
	if token == "" {
		return auth.User{}, errors.New("no token")
	}
	sum := sha256.Sum256([]byte(token))
	k := string(sum[:])
	if u, ok := t.ok.get(k); ok {
		return u, nil
	}
	if _, bad := t.bad.get(k); bad {
		return auth.User{}, errBadToken
	}
	return t.flight.do(ctx, k, func() (auth.User, error) { return t.review(ctx, k, token) })
}

func (t *TokenReview) review(ctx context.Context, k, token string) (auth.User, error) {
	g := t.newG
	if _, ok := t.known.get(k); ok {
		g = t.knownG
	}
	leave, err := g.enter(ctx)
	if err != nil {
		return auth.User{}, err
	}
	defer leave()
	r, err := t.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: t.opts.Audiences}}, metav1.CreateOptions{})
	if err != nil {
		// Not the caller's fault: say so instead of "invalid token".
		return auth.User{}, &job.Error{Kind: job.KindUnavailable, Message: "cannot validate the token with the cluster's API server; try again", Err: err}
	}
	if !r.Status.Authenticated || !t.audienceOK(r.Status.Audiences) {
		t.bad.put(k, struct{}{})
		return auth.User{}, errBadToken
	}
	ui := r.Status.User
	u := auth.User{Name: ui.Username, Groups: ui.Groups, UID: ui.UID}
	if len(ui.Extra) > 0 {
		u.Extra = map[string][]string{}
		for key, v := range ui.Extra {
			u.Extra[key] = v
		}
	}
	ttl := t.opts.TTL
	if exp, ok := jwtExpiry(token); ok {
		ttl = min(ttl, time.Until(exp))
	}
	t.ok.putFor(k, u, ttl)
	t.known.put(k, struct{}{})
	return u, nil
}

// audienceOK checks the audiences the API server says the token is valid
// for against ours. An empty answer comes from an authenticator that knows
// no audiences: the token is the API server's own, as every token was
// before audiences existed.
func (t *TokenReview) audienceOK(got []string) bool {
	if len(t.opts.Audiences) == 0 || len(got) == 0 {
		return true
	}
	for _, a := range got {
		if slices.Contains(t.opts.Audiences, a) {
			return true
		}
	}
	return false
}

// jwtExpiry reads the exp claim of a JWT without verifying it (the API
// server did): a valid token is never remembered past its expiry.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	sec, err := claims.Exp.Int64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}
