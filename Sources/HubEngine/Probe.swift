
import HubStore
