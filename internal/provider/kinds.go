package provider

import "slices"

// Family is the package that implements a provider kind.
type Family string

// The provider families, one sub-package each.
const (
	FamilyOpenAICompat Family = "openaicompat"
	FamilyAnthropic    Family = "anthropic"
	FamilyGemini       Family = "gemini"
	FamilyBedrock      Family = "bedrock"
	FamilyCohere       Family = "cohere"
	FamilyMock         Family = "mock"
)

// EnvSwitch says what turns a kind on in an environment-only configuration
// (no configuration file).
type EnvSwitch int

const (
	// EnvNone kinds are configured only by a configuration file.
	EnvNone EnvSwitch = iota
	// EnvKey kinds are on when KeyEnv (or, when it is unset, AltKeyEnv) is set.
	EnvKey
	// EnvKeyAndBaseURL kinds are on when KeyEnv and BaseURLEnv are both set:
	// they have no public default URL.
	EnvKeyAndBaseURL
	// EnvBaseURL kinds are on when BaseURLEnv is set: a local server, no key.
	EnvBaseURL
	// EnvEnabled kinds are on when EnabledEnv is "true" or ModelsEnv is set:
	// their credentials come from elsewhere (the AWS credential chain).
	EnvEnabled
)

// Kind is everything that varies by provider kind outside the family's own
// package: adding a kind means adding one entry to the table below (and, for a
// new family, its package and constructor).
type Kind struct {
	// Name is the kind as configuration spells it ("groq").
	Name string
	// Display is the name POST /generate answers with ("Groq").
	Display string
	// Family is the package that implements the kind.
	Family Family

	// DefaultURL is the base URL of an openaicompat kind when the
	// configuration sets none; "" means the configuration must set one.
	DefaultURL string
	// OmitStreamOptions is set for openaicompat kinds that reject or ignore
	// stream_options; they report usage in their last chunk on their own.
	OmitStreamOptions bool

	// Env says what turns the kind on in an environment-only configuration;
	// the fields below are read only when it is not EnvNone.
	Env EnvSwitch
	// KeyEnv holds the API key, "" if the kind takes none.
	KeyEnv string
	// AltKeyEnv is read for the key when KeyEnv is unset, "" if none.
	AltKeyEnv string
	// BaseURLEnv overrides the base URL.
	BaseURLEnv string
	// ModelsEnv is a comma-separated list that replaces DefaultModel.
	ModelsEnv string
	// EnabledEnv turns an EnvEnabled kind on when it is "true".
	EnabledEnv string
	// APIVersionEnv sets the provider's api_version, "" if none.
	APIVersionEnv string
	// RegionEnv sets the provider's region, "" if none.
	RegionEnv string
	// DefaultModel is the model served when ModelsEnv is unset.
	DefaultModel string
	// ModelFamilies are the wildcard patterns an environment-only provider
	// also serves when ModelsEnv is unset, so that everyday model names
	// (gpt-4.1, claude-3-5-haiku-latest, gemini-2.0-flash) route without a
	// configuration file. Only the kind's own namespaces: families of kinds
	// earlier in the table win when two match.
	ModelFamilies []string
}

// NeedsBaseURL reports whether a configuration of this kind must set base_url.
func (k Kind) NeedsBaseURL() bool { return k.Family == FamilyOpenAICompat && k.DefaultURL == "" }

// kinds is the table, in the environment-only failover order: OpenAI, Gemini,
// then the rest; kinds only a configuration file can set come last.
var kinds = []Kind{
	{Name: "openai", Display: "OpenAI", Family: FamilyOpenAICompat, DefaultURL: "https://api.openai.com/v1",
		Env: EnvKey, KeyEnv: "OPENAI_API_KEY", BaseURLEnv: "OPENAI_BASE_URL", ModelsEnv: "OPENAI_MODELS",
		DefaultModel: "gpt-6-luna", ModelFamilies: []string{"gpt-*", "chatgpt-*", "o1*", "o3*", "o4*", "text-embedding-3-*", "text-embedding-ada-*",
			"dall-e-*", "gpt-image-*", "whisper-*", "tts-*", "omni-moderation-*", "text-moderation-*", "codex-*"}},
	{Name: "gemini", Display: "Gemini", Family: FamilyGemini,
		Env: EnvKey, KeyEnv: "GEMINI_API_KEY", AltKeyEnv: "GOOGLE_API_KEY", BaseURLEnv: "GEMINI_BASE_URL", ModelsEnv: "GEMINI_MODELS",
		DefaultModel: "gemini-3.5-flash-lite", ModelFamilies: []string{"gemini-*", "text-embedding-00*", "imagen-*"}},
	{Name: "anthropic", Display: "Anthropic", Family: FamilyAnthropic,
		Env: EnvKey, KeyEnv: "ANTHROPIC_API_KEY", BaseURLEnv: "ANTHROPIC_BASE_URL", ModelsEnv: "ANTHROPIC_MODELS",
		DefaultModel: "claude-sonnet-5-5", ModelFamilies: []string{"claude-*"}},
	{Name: "azure", Display: "Azure", Family: FamilyOpenAICompat,
		Env: EnvKeyAndBaseURL, KeyEnv: "AZURE_OPENAI_API_KEY", BaseURLEnv: "AZURE_OPENAI_ENDPOINT", ModelsEnv: "AZURE_MODELS",
		APIVersionEnv: "AZURE_OPENAI_API_VERSION", DefaultModel: "gpt-4o-mini"},
	{Name: "groq", Display: "Groq", Family: FamilyOpenAICompat, DefaultURL: "https://api.groq.com/openai/v1",
		Env: EnvKey, KeyEnv: "GROQ_API_KEY", BaseURLEnv: "GROQ_BASE_URL", ModelsEnv: "GROQ_MODELS",
		DefaultModel: "llama-3.3-70b-versatile"},
	{Name: "mistral", Display: "Mistral", Family: FamilyOpenAICompat, DefaultURL: "https://api.mistral.ai/v1", OmitStreamOptions: true,
		Env: EnvKey, KeyEnv: "MISTRAL_API_KEY", BaseURLEnv: "MISTRAL_BASE_URL", ModelsEnv: "MISTRAL_MODELS",
		DefaultModel: "mistral-small-latest", ModelFamilies: []string{"mistral-*", "open-mistral-*", "codestral-*", "pixtral-*",
			"ministral-*", "magistral-*", "devstral-*"}},
	{Name: "together", Display: "Together", Family: FamilyOpenAICompat, DefaultURL: "https://api.together.xyz/v1",
		Env: EnvKey, KeyEnv: "TOGETHER_API_KEY", BaseURLEnv: "TOGETHER_BASE_URL", ModelsEnv: "TOGETHER_MODELS",
		DefaultModel: "meta-llama/Llama-3.3-70B-Instruct-Turbo"},
	{Name: "perplexity", Display: "Perplexity", Family: FamilyOpenAICompat, DefaultURL: "https://api.perplexity.ai", OmitStreamOptions: true,
		Env: EnvKey, KeyEnv: "PERPLEXITY_API_KEY", BaseURLEnv: "PERPLEXITY_BASE_URL", ModelsEnv: "PERPLEXITY_MODELS",
		DefaultModel: "sonar", ModelFamilies: []string{"sonar*"}},
	{Name: "deepseek", Display: "DeepSeek", Family: FamilyOpenAICompat, DefaultURL: "https://api.deepseek.com/v1",
		Env: EnvKey, KeyEnv: "DEEPSEEK_API_KEY", BaseURLEnv: "DEEPSEEK_BASE_URL", ModelsEnv: "DEEPSEEK_MODELS",
		DefaultModel: "deepseek-chat", ModelFamilies: []string{"deepseek-*"}},
	{Name: "xai", Display: "xAI", Family: FamilyOpenAICompat, DefaultURL: "https://api.x.ai/v1",
		Env: EnvKey, KeyEnv: "XAI_API_KEY", BaseURLEnv: "XAI_BASE_URL", ModelsEnv: "XAI_MODELS",
		DefaultModel: "grok-3-mini", ModelFamilies: []string{"grok-*"}},
	{Name: "cohere", Display: "Cohere", Family: FamilyCohere,
		Env: EnvKey, KeyEnv: "COHERE_API_KEY", BaseURLEnv: "COHERE_BASE_URL", ModelsEnv: "COHERE_MODELS",
		DefaultModel: "command-r-plus", ModelFamilies: []string{"command-*", "embed-*", "c4ai-*"}},
	{Name: "ollama", Display: "Ollama", Family: FamilyOpenAICompat, DefaultURL: "http://127.0.0.1:11434/v1",
		Env: EnvBaseURL, BaseURLEnv: "OLLAMA_BASE_URL", ModelsEnv: "OLLAMA_MODELS",
		DefaultModel: "llama3.2"},
	{Name: "bedrock", Display: "Bedrock", Family: FamilyBedrock,
		Env: EnvEnabled, EnabledEnv: "BEDROCK_ENABLED", BaseURLEnv: "BEDROCK_BASE_URL", ModelsEnv: "BEDROCK_MODELS",
		RegionEnv: "BEDROCK_REGION", DefaultModel: "anthropic.claude-3-5-haiku-20241022-v1:0",
		// Anthropic's names, sent as their Bedrock ids (bedrock/models.go):
		// with Anthropic on too, Anthropic comes first and Bedrock is its
		// failover.
		ModelFamilies: []string{"claude-*"}},

	{Name: "openrouter", Display: "OpenRouter", Family: FamilyOpenAICompat, DefaultURL: "https://openrouter.ai/api/v1"},
	{Name: "fireworks", Display: "Fireworks", Family: FamilyOpenAICompat, DefaultURL: "https://api.fireworks.ai/inference/v1"},
	{Name: "custom", Display: "Custom", Family: FamilyOpenAICompat},
	{Name: "vertex", Display: "Vertex", Family: FamilyGemini},
	{Name: "mock", Display: "Mock", Family: FamilyMock},
}

// Kinds returns every provider kind, in the environment-only failover order.
// The slice is the caller's.
func Kinds() []Kind { return slices.Clone(kinds) }

// LookupKind returns the kind named name.
func LookupKind(name string) (Kind, bool) {
	i := slices.IndexFunc(kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return kinds[i], true
}
