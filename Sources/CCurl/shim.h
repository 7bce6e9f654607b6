#ifndef TIPLINE_CCURL_SHIM_H
#define TIPLINE_CCURL_SHIM_H

// Typed wrappers for libcurl's variadic functions, which Swift cannot call directly.
// One wrapper per argument kind, as GRDB and AsyncHTTPClient do for their C dependencies.

#include <curl/curl.h>

typedef size_t (*tipline_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);

static inline CURLcode tipline_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tipline_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tipline_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tipline_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tipline_easy_setopt_data_callback(CURL *handle, CURLoption option, tipline_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tipline_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode tipline_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode tipline_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode tipline_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode tipline_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

#endif
