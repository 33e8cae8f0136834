// The PostgreSQL MetaStore (postgres_meta_store.cc). Internal to src/store:
// callers use OpenMetaStore with a postgresql:// URL.
#pragma once

#include <memory>
#include <string_view>

#include "core/status.h"
#include "store/meta_store.h"

namespace fsml {

// Connects (any libpq URL), runs pending migrations and returns the store.
// Errors name the URL with its password masked.
Result<std::unique_ptr<MetaStore>> OpenPostgresMetaStore(std::string_view url);

}  // namespace fsml
