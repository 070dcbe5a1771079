package responses

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/aigateway/gateway/internal/openai"
)

// ItemList is the answer of GET /v1/responses/{id}/input_items, the API's
// ResponseItemList: one page of items, the ids of its first and last (null
// on an empty page), and whether more follow.
type ItemList struct {
	Object  string            `json:"object"`
	Data    []json.RawMessage `json:"data"`
	FirstID *string           `json:"first_id"`
	LastID  *string           `json:"last_id"`
	HasMore bool              `json:"has_more"`
}

// JSON renders the list as the API sends it (no HTML escaping).
func (l *ItemList) JSON() ([]byte, error) { return marshal(l) }

// Page is what a list request asks for: at most Limit items, newest first
// when Desc, starting after the item with the id After.
type Page struct {
	Limit int
	Desc  bool
	After string
}

// Limits of a list page, as the API defines them.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// ParsePage reads limit (1 to 100, default 20), order (asc or desc, default
// desc) and after from a list request's query. A bad value is an
// invalid_request_error naming the parameter.
func ParsePage(q url.Values) (Page, error) {
	p := Page{Limit: DefaultPageLimit, Desc: true, After: q.Get("after")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			return p, pageError("limit", fmt.Sprintf("Invalid 'limit': expected an integer, but got '%s' instead.", s))
		case n < 1:
			return p, pageError("limit", fmt.Sprintf("Invalid 'limit': integer below minimum value. Expected a value >= 1, but got %d instead.", n))
		case n > MaxPageLimit:
			return p, pageError("limit", fmt.Sprintf("Invalid 'limit': integer above maximum value. Expected a value <= %d, but got %d instead.", MaxPageLimit, n))
		}
		p.Limit = n
	}
	switch o := q.Get("order"); o {
	case "", "desc":
	case "asc":
		p.Desc = false
	default:
		return p, pageError("order", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'asc' and 'desc'.", o))
	}
	return p, nil
}

func pageError(param, msg string) error {
	return &openai.Error{Code: openai.CodeInvalidRequest, Param: param, Message: msg}
}

// InputItems is one page of the input a stored response was made from:
// items in the order the model read them (the turns it continued, then its
// own input). Every listed item has an id, as the API's item resources do:
// one the item lacks is derived from respID and the item's place, so it is
// the same on every call and after can page by it. A message whose content
// is a string is listed with one text part, as the API lists it. An after
// that names no item of the list is an invalid_request_error.
func InputItems(respID string, items []Item, p Page) (*ItemList, error) {
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
		if p.Desc {
			order[i] = len(items) - 1 - i
		}
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
		if ids[i] == "" {
			ids[i] = derivedID(respID, i, it.Type)
		}
	}
	start := 0
	if p.After != "" {
		start = -1
		for k, i := range order {
			if ids[i] == p.After {
				start = k + 1
				break
			}
		}
		if start < 0 {
			return nil, pageError("after", fmt.Sprintf("Invalid 'after': no input item with id '%s' in this response.", p.After))
		}
	}
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	end := min(start+limit, len(order))
	list := &ItemList{Object: "list", Data: []json.RawMessage{}, HasMore: end < len(order)}
	for _, i := range order[start:end] {
		b, err := listed(items[i], ids[i])
		if err != nil {
			return nil, err
		}
		list.Data = append(list.Data, b)
	}
	if end > start {
		first, last := ids[order[start]], ids[order[end-1]]
		list.FirstID, list.LastID = &first, &last
	}
	return list, nil
}

// listed is the JSON of an item as the list shows it, with id set.
func listed(it Item, id string) (json.RawMessage, error) {
	if it.Type == TypeMessage && !it.Content.List && !it.Content.Missing {
		kind := PartInputText
		if it.Role == "assistant" {
			kind = PartOutputText
		}
		it.Content = Content{List: true, Parts: []Part{{Type: kind, Text: it.Content.Text}}}
	}
	it.ID = id
	b, err := it.MarshalJSON()
	if err != nil {
		return nil, err
	}
	if gjson.GetBytes(b, "id").Str == id { // a modeled item, or a kept one that had its id
		return b, nil
	}
	return sjson.SetBytes(b, "id", id)
}

// derivedID is the id of the i-th input item of response respID that came
// without one.
func derivedID(respID string, i int, typ string) string {
	prefix := "item"
	switch typ {
	case TypeMessage:
		prefix = "msg"
	case TypeFunctionCall:
		prefix = "fc"
	case TypeFunctionCallOutput:
		prefix = "fco"
	}
	sum := sha256.Sum256([]byte(respID + "\x00" + strconv.Itoa(i)))
	return prefix + "_" + hex.EncodeToString(sum[:24])
}
