import HubStore
import HubServer
print(libpqVersion(), lwsPre())
